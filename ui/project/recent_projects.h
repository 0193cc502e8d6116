// The "Open Recent" list, kept in QSettings (most recent first, no duplicates, at most 10 entries).
#pragma once
#include <QStringList>

class QSettings;

class RecentProjects {
public:
    static constexpr int kMaxEntries = 10;
    explicit RecentProjects(QSettings& settings) : settings_(settings) {}
    QStringList list() const;        // files that still exist
    void add(const QString& path);   // moves to the front
    void remove(const QString& path);
    void clear();

private:
    QSettings& settings_;
};
