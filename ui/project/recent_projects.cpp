#include "project/recent_projects.h"

#include <QFileInfo>
#include <QSettings>

namespace {
const char* kKey = "recentProjects";
}

QStringList RecentProjects::list() const {
    QStringList out;
    for (const QString& p : settings_.value(kKey).toStringList())
        if (QFileInfo::exists(p)) out << p;
    return out;
}

void RecentProjects::add(const QString& path) {
    const QString absolute = QFileInfo(path).absoluteFilePath();
    QStringList l = settings_.value(kKey).toStringList();
    l.removeAll(absolute);
    l.prepend(absolute);
    while (l.size() > kMaxEntries) l.removeLast();
    settings_.setValue(kKey, l);
}

void RecentProjects::remove(const QString& path) {
    QStringList l = settings_.value(kKey).toStringList();
    l.removeAll(QFileInfo(path).absoluteFilePath());
    settings_.setValue(kKey, l);
}

void RecentProjects::clear() { settings_.remove(kKey); }
