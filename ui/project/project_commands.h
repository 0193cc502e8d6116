// Undo commands for project edits, one class per kind of edit (Tiled's style). The UI never mutates
// the Project directly: it calls Project::setRadius(...) etc., which push one of these.
#pragma once
#include <QUndoCommand>
#include <functional>

#include "project/project.h"

// Command ids for QUndoCommand::mergeWith.
enum ProjectCommandId { CmdSetRadius = 1 };

class InsertSourcesCommand : public QUndoCommand {
public:
    InsertSourcesCommand(Project* project, const QVector<SourceModel>& sources);
    void redo() override;
    void undo() override;

private:
    Project* project_;
    QVector<SourceModel> sources_;
    int firstIndex_;
};

class RemoveSourceCommand : public QUndoCommand {
public:
    RemoveSourceCommand(Project* project, const QString& id);
    void redo() override;
    void undo() override;

private:
    Project* project_;
    SourceModel source_;
    int index_;
    QStringList orderBefore_;  // a custom merge order loses the id; undo restores it
};

// A radius change. Commands carrying the same non-zero merge key (one slider drag) merge into one
// undo step; a drag that ends where it started leaves no step at all.
class SetRadiusCommand : public QUndoCommand {
public:
    SetRadiusCommand(Project* project, const QString& id, double radius, int mergeKey);
    void redo() override;
    void undo() override;
    int id() const override { return CmdSetRadius; }
    bool mergeWith(const QUndoCommand* other) override;

private:
    Project* project_;
    QString sourceId_;
    double before_;
    double after_;
    int mergeKey_;
};

// Any other edit: a value with a getter/setter pair (weight mode, merge order, local data, ...).
template <typename T>
class SetValueCommand : public QUndoCommand {
public:
    SetValueCommand(const QString& text, T before, T after, std::function<void(const T&)> apply)
        : QUndoCommand(text), before_(std::move(before)), after_(std::move(after)), apply_(std::move(apply)) {}
    void redo() override { apply_(after_); }
    void undo() override { apply_(before_); }

private:
    T before_;
    T after_;
    std::function<void(const T&)> apply_;
};
