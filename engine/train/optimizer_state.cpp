#include "train/optimizer_state.h"

#include <torch/torch.h>

#include "core/error.h"

namespace coalesce {

namespace {
std::string stateKey(const torch::Tensor& parameter) { return c10::guts::to_string(parameter.unsafeGetTensorImpl()); }
}  // namespace

void storeAdamState(Checkpoint& checkpoint, const std::string& prefix, const torch::optim::Adam& optimizer,
                    const torch::nn::Module& module) {
    const auto& states = optimizer.state();
    for (const auto& item : module.named_parameters(true)) {
        auto it = states.find(stateKey(item.value()));
        if (it == states.end()) continue;
        const auto& s = static_cast<const torch::optim::AdamParamState&>(*it->second);
        const std::string base = prefix + "." + item.key();
        checkpoint.tensors[base + ".exp_avg"] = s.exp_avg().detach().to(torch::kCPU).clone();
        checkpoint.tensors[base + ".exp_avg_sq"] = s.exp_avg_sq().detach().to(torch::kCPU).clone();
        checkpoint.tensors[base + ".step"] = torch::full({1}, s.step(), torch::kLong);
    }
}

void restoreAdamState(const Checkpoint& checkpoint, const std::string& prefix, torch::optim::Adam& optimizer,
                      const torch::nn::Module& module, const std::string& fileForMessages) {
    auto& states = optimizer.state();
    for (const auto& item : module.named_parameters(true)) {
        const std::string base = prefix + "." + item.key();
        auto avg = checkpoint.tensors.find(base + ".exp_avg");
        auto avgSq = checkpoint.tensors.find(base + ".exp_avg_sq");
        auto step = checkpoint.tensors.find(base + ".step");
        if (avg == checkpoint.tensors.end() && avgSq == checkpoint.tensors.end()) {
            states.erase(stateKey(item.value()));
            continue;
        }
        if (avg == checkpoint.tensors.end() || avgSq == checkpoint.tensors.end() || step == checkpoint.tensors.end())
            throw Error(fileForMessages + ": optimizer state for '" + base + "' is incomplete");
        const auto& p = item.value();
        if (avg->second.sizes() != p.sizes() || avgSq->second.sizes() != p.sizes() || step->second.numel() != 1)
            throw Error(fileForMessages + ": optimizer state for '" + base + "' has shape " +
                        c10::str(avg->second.sizes()) + ", the parameter has " + c10::str(p.sizes()));
        auto s = std::make_unique<torch::optim::AdamParamState>();
        s->exp_avg(avg->second.to(p.device(), p.scalar_type()).clone());
        s->exp_avg_sq(avgSq->second.to(p.device(), p.scalar_type()).clone());
        s->step(step->second.to(torch::kLong).item<int64_t>());
        states[stateKey(p)] = std::move(s);
    }
}

}  // namespace coalesce
