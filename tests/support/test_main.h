// All C++ suites are linked into one executable, `coalesce_tests` (one link, one precompiled header,
// unity batches: tests/CMakeLists.txt). Each test file ends with one of the macros below instead of
// Qt's QTEST_…MAIN; the CTest test "<name>" runs `coalesce_tests <name> [Qt Test arguments]`, where
// <name> is the file's name without "test_" and ".cpp" (tests/engine/test_barycenter.cpp → barycenter).
//   COALESCE_TEST_APPLESS_MAIN(TestX)   no application object   (as QTEST_APPLESS_MAIN)
//   COALESCE_TEST_GUILESS_MAIN(TestX)   a QCoreApplication       (as QTEST_GUILESS_MAIN)
//   COALESCE_TEST_MAIN(TestX)           a QApplication: UI tests (as QTEST_MAIN with Qt Widgets)
// Unlike Qt's macros these do not call a test class's static initMain() (no suite has one).
#pragma once
#include <QtTest/QtTest>

namespace coalesce::test {

using TestEntry = int (*)(int argc, char** argv);

// Registers the suite defined in sourceFile (its __FILE__); static objects made by the macros below.
struct TestRegistration {
    TestRegistration(const char* sourceFile, TestEntry entry);
};

// main(): runs the suite named by argv[1] with the remaining arguments; lists the suites otherwise.
int runRegisteredTest(int argc, char** argv);

}  // namespace coalesce::test

#define COALESCE_TEST_WRAPPER(TestObject, ...)                                                            \
    static int coalesceRun##TestObject(int argc, char** argv) {                                           \
        __VA_ARGS__                                                                                       \
        TestObject tc;                                                                                    \
        QTest::setMainSourcePath(__FILE__);                                                               \
        return QTest::qExec(&tc, argc, argv);                                                             \
    }                                                                                                     \
    static const ::coalesce::test::TestRegistration coalesceRegistration##TestObject(__FILE__,            \
                                                                                      &coalesceRun##TestObject);

#define COALESCE_TEST_APPLESS_MAIN(TestObject) COALESCE_TEST_WRAPPER(TestObject)
#define COALESCE_TEST_GUILESS_MAIN(TestObject)                                                            \
    COALESCE_TEST_WRAPPER(TestObject, QCoreApplication app(argc, argv); app.setAttribute(Qt::AA_Use96Dpi, true);)
#define COALESCE_TEST_MAIN(TestObject)                                                                    \
    COALESCE_TEST_WRAPPER(TestObject, QApplication app(argc, argv); app.setAttribute(Qt::AA_Use96Dpi, true);)
