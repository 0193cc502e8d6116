// Empty: the target that builds the UI tests' precompiled header (tests/CMakeLists.txt).
