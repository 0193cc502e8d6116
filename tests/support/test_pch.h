// Precompiled for every test executable.
#pragma once
#include <torch/torch.h>
#include <QtTest/QtTest>
#include <nlohmann/json.hpp>
