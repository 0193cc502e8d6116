// The only UI translation unit that includes a torch header (the light <torch/types.h> via
// core/runtime.h), to ask LibTorch for its version and device.
#include "app/engine_info.h"

#include <torch/cuda.h>

#include "core/runtime.h"
#include "jobs/job_factory.h"

#ifndef COALESCE_VERSION
#define COALESCE_VERSION "dev"
#endif

QString engineVersion() { return QStringLiteral(COALESCE_VERSION); }

QString engineRuntimeDescription() {
    try {
        return QString::fromStdString(coalesce::describeRuntime(coalesce::resolveDevice("auto")));
    } catch (const std::exception& e) {
        return QString::fromUtf8(e.what());
    }
}

bool cudaAvailable() { return torch::cuda::is_available(); }

QStringList engineJobKinds() {
    QStringList out;
    for (const auto& k : coalesce::jobKinds()) out << QString::fromStdString(k);
    return out;
}
