// Reading dataset spec text without loading anything (torch-free).
#pragma once
#include <string>

namespace coalesce {

// The dataset a "split:<weights>:<part>:<seed>:<spec>" spec takes its part of (nested splits unwrapped);
// any other spec unchanged. E.g. what the feature net of a split target trains on.
std::string unsplitSpec(const std::string& spec);

}  // namespace coalesce
