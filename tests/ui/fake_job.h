// Test-only engine job: emits a scripted stream of progress, metrics, images and logs, honouring the
// CancelToken exactly like a real training job (check() once per iteration). Torch-free.
#pragma once
#include <atomic>
#include <chrono>
#include <cmath>
#include <string>
#include <thread>

#include "core/error.h"
#include "core/job.h"

namespace fake {

struct FakeJobOptions {
    long long iterations = 100;
    int metricsPerIteration = 1;   // metrics "loss" (and "w_hat/<k>" when > 1)
    int imageEvery = 0;            // 0 = no images; else an 8×8 gray grid "samples" every N steps
    int sleepMicroseconds = 0;     // per iteration
    bool failAt = false;           // throw an engine Error at iteration failIteration
    long long failIteration = -1;
    std::string runDir;
};

class FakeJob : public coalesce::Job {
public:
    explicit FakeJob(FakeJobOptions o) : o_(std::move(o)) {}
    std::string kind() const override { return "fake"; }

    coalesce::JobResult run(coalesce::JobObserver& obs, coalesce::CancelToken& cancel) override {
        coalesce::JobResult result;
        result.runDir = o_.runDir;
        try {
            obs.onLog(coalesce::LogLevel::Info, "fake job starts");
            for (long long i = 0; i < o_.iterations; ++i) {
                cancel.check();
                if (o_.failAt && i == o_.failIteration) throw coalesce::Error("fake failure at iteration " + std::to_string(i));
                obs.onMetric("loss", i, 1.0 / double(i + 1));
                for (int k = 1; k < o_.metricsPerIteration; ++k)
                    obs.onMetric("w_hat/" + std::to_string(k - 1), i, double(k) + std::sin(0.01 * double(i)));
                if (o_.imageEvery > 0 && i % o_.imageEvery == 0) obs.onImage("samples", i, grid(i));
                obs.onProgress(i + 1, o_.iterations, "train");
                if (o_.sleepMicroseconds > 0) std::this_thread::sleep_for(std::chrono::microseconds(o_.sleepMicroseconds));
                iterationsRun.fetch_add(1);
            }
            obs.onCheckpoint(o_.iterations, o_.runDir + "/checkpoints/latest.coalesce");
            result.status = coalesce::JobResult::Status::Finished;
            result.message = "done";
            result.summary = {{"iterations", o_.iterations}};
        } catch (const coalesce::Cancelled&) {
            result.status = coalesce::JobResult::Status::Cancelled;
            result.message = "cancelled";
        } catch (const std::exception& e) {
            result.status = coalesce::JobResult::Status::Failed;
            result.message = e.what();
            obs.onLog(coalesce::LogLevel::Error, e.what());
        }
        return result;
    }

    static coalesce::ImageU8 grid(long long step) {
        coalesce::ImageU8 img;
        img.width = 8;
        img.height = 8;
        img.channels = 1;
        img.pixels.resize(64);
        for (int p = 0; p < 64; ++p) img.pixels[std::size_t(p)] = std::uint8_t((p * 4 + step) % 256);
        return img;
    }

    std::atomic<long long> iterationsRun{0};

private:
    FakeJobOptions o_;
};

}  // namespace fake
