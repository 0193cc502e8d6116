#include "panels/log_panel.h"

#include <algorithm>

#include <QFontDatabase>
#include <QPlainTextEdit>
#include <QTime>
#include <QVBoxLayout>

namespace {
QString line(int level, const QString& message) {
    static const char* names[] = {"debug", "info", "warning", "error"};
    static const char* colors[] = {"#888888", "", "#e0a030", "#d9534f"};
    const int l = std::clamp(level, 0, 3);
    const QString text = QStringLiteral("%1  %2  %3")
                             .arg(QTime::currentTime().toString("HH:mm:ss"), QString::fromLatin1(names[l]).leftJustified(7),
                                  message.toHtmlEscaped());
    return *colors[l] ? QStringLiteral("<span style=\"color:%1\">%2</span>").arg(colors[l], text) : text;
}
}  // namespace

LogPanel::LogPanel(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    view_ = new QPlainTextEdit(this);
    view_->setReadOnly(true);
    view_->setMaximumBlockCount(5000);  // bounded: a chatty job cannot eat the memory
    view_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    view_->setLineWrapMode(QPlainTextEdit::WidgetWidth);
    layout->addWidget(view_);
}

void LogPanel::append(int level, const QString& message) { view_->appendHtml(line(level, message)); }

void LogPanel::appendEvents(const QVector<JobEvent>& events) {
    QStringList lines;
    for (const JobEvent& e : events)
        if (e.type == JobEvent::Type::Log) lines << line(e.level, e.name);
    if (!lines.isEmpty()) view_->appendHtml(lines.join("<br>"));
}

QString LogPanel::text() const { return view_->toPlainText(); }
void LogPanel::clear() { view_->clear(); }
