#include "jobs/job_factory.h"

#include <map>
#include <mutex>

#include "core/error.h"

namespace coalesce {

namespace {
struct Entry {
    JobMaker maker;
    std::string summary;
};
std::map<std::string, Entry>& registry() {
    static std::map<std::string, Entry> r;
    return r;
}
std::mutex& registryMutex() {
    static std::mutex m;
    return m;
}
}  // namespace

void registerJobKind(const std::string& kind, JobMaker maker, const std::string& summary) {
    std::lock_guard<std::mutex> lock(registryMutex());
    registry()[kind] = Entry{maker, summary};
}

// Jobs register explicitly (jobs/builtin_jobs.cpp): self-registering static objects would be dropped
// by the linker from a static library.
void ensureBuiltinJobsRegistered() {
    static std::once_flag once;
    std::call_once(once, registerBuiltinJobs);
}

std::vector<std::string> jobKinds() {
    ensureBuiltinJobsRegistered();
    std::lock_guard<std::mutex> lock(registryMutex());
    std::vector<std::string> kinds;
    for (const auto& [k, _] : registry()) kinds.push_back(k);
    return kinds;
}

std::string jobKindSummary(const std::string& kind) {
    ensureBuiltinJobsRegistered();
    std::lock_guard<std::mutex> lock(registryMutex());
    auto it = registry().find(kind);
    return it == registry().end() ? std::string() : it->second.summary;
}

std::unique_ptr<Job> createJob(const Json& config) {
    if (!config.is_object()) throw Error("job config: expected a JSON object");
    if (!config.contains("kind") || !config["kind"].is_string())
        throw Error("job config: missing \"kind\" (one of the job kinds, e.g. \"pretrain\")");
    const std::string kind = config["kind"].get<std::string>();
    ensureBuiltinJobsRegistered();
    JobMaker maker = nullptr;
    {
        std::lock_guard<std::mutex> lock(registryMutex());
        auto it = registry().find(kind);
        if (it != registry().end()) maker = it->second.maker;
    }
    if (!maker) {
        std::string known;
        for (const auto& k : jobKinds()) known += (known.empty() ? "" : ", ") + k;
        throw Error("job config: unknown kind \"" + kind + "\" (known: " + known + ")");
    }
    return maker(config);
}

}  // namespace coalesce
