// The suites' registry and the main() of `coalesce_tests` (see test_main.h).
#include "support/test_main.h"

#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace coalesce::test {
namespace {

// Built on first use: registrations are static objects of other translation units.
std::map<std::string, TestEntry>& registry() {
    static std::map<std::string, TestEntry> suites;
    return suites;
}

// ".../tests/engine/test_barycenter.cpp" → "barycenter": the rule tests/CMakeLists.txt names CTest tests by.
std::string suiteNameOf(const char* sourceFile) {
    std::string name = sourceFile;
    if (const auto slash = name.find_last_of("/\\"); slash != std::string::npos) name.erase(0, slash + 1);
    if (const auto dot = name.rfind('.'); dot != std::string::npos) name.erase(dot);
    if (name.rfind("test_", 0) == 0) name.erase(0, 5);
    return name;
}

// The usage and every suite's name; exit status 0 when they were asked for, 2 after a bad call.
int listSuites(std::FILE* to, int status) {
    std::fprintf(to, "usage: coalesce_tests SUITE [Qt Test arguments]\nsuites:");
    for (const auto& [name, entry] : registry()) std::fprintf(to, " %s", name.c_str());
    std::fprintf(to, "\n");
    return status;
}

}  // namespace

TestRegistration::TestRegistration(const char* sourceFile, TestEntry entry) {
    const std::string name = suiteNameOf(sourceFile);
    if (!registry().emplace(name, entry).second) {
        std::fprintf(stderr, "coalesce_tests: two suites are named '%s'\n", name.c_str());
        std::abort();
    }
}

int runRegisteredTest(int argc, char** argv) {
    if (argc < 2 || std::strcmp(argv[1], "--list") == 0 || std::strcmp(argv[1], "-h") == 0 ||
        std::strcmp(argv[1], "--help") == 0)
        return argc < 2 ? listSuites(stderr, 2) : listSuites(stdout, 0);
    const auto suite = registry().find(argv[1]);
    if (suite == registry().end()) {
        std::fprintf(stderr, "coalesce_tests: no suite named '%s'\n", argv[1]);
        return listSuites(stderr, 2);
    }
    // Qt Test sees the program name and the arguments after the suite's name.
    std::vector<char*> args{argv[0]};
    args.insert(args.end(), argv + 2, argv + argc);
    args.push_back(nullptr);
    return suite->second(int(args.size()) - 1, args.data());
}

}  // namespace coalesce::test

int main(int argc, char** argv) { return coalesce::test::runRegisteredTest(argc, argv); }
