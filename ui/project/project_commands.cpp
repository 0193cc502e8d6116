#include "project/project_commands.h"

InsertSourcesCommand::InsertSourcesCommand(Project* project, const QVector<SourceModel>& sources)
    : project_(project), sources_(sources), firstIndex_(project->sources().size()) {
    setText(sources.size() == 1 ? QObject::tr("Add %1").arg(sources.front().name)
                                : QObject::tr("Add %1 generators").arg(sources.size()));
}

void InsertSourcesCommand::redo() {
    for (int i = 0; i < sources_.size(); ++i) project_->applyInsertSource(firstIndex_ + i, sources_[i]);
}

void InsertSourcesCommand::undo() {
    for (int i = sources_.size() - 1; i >= 0; --i) project_->applyRemoveSource(firstIndex_ + i);
}

RemoveSourceCommand::RemoveSourceCommand(Project* project, const QString& id)
    : project_(project), index_(project->sourceIndex(id)) {
    source_ = project->sources().at(index_);
    if (project->hasCustomMergeOrder()) orderBefore_ = project->mergeOrder();
    setText(QObject::tr("Remove %1").arg(source_.name));
}

void RemoveSourceCommand::redo() {
    project_->applyRemoveSource(index_);
    if (!orderBefore_.isEmpty()) {
        QStringList order = orderBefore_;
        order.removeAll(source_.id);
        project_->applyCustomOrder(order);
    }
}

void RemoveSourceCommand::undo() {
    project_->applyInsertSource(index_, source_);
    if (!orderBefore_.isEmpty()) project_->applyCustomOrder(orderBefore_);
}

SetRadiusCommand::SetRadiusCommand(Project* project, const QString& id, double radius, int mergeKey)
    : project_(project), sourceId_(id), before_(project->source(id)->radius), after_(radius), mergeKey_(mergeKey) {
    setText(QObject::tr("Radius of %1").arg(project->source(id)->name));
}

void SetRadiusCommand::redo() { project_->applyRadius(sourceId_, after_); }
void SetRadiusCommand::undo() { project_->applyRadius(sourceId_, before_); }

bool SetRadiusCommand::mergeWith(const QUndoCommand* other) {
    const auto* o = static_cast<const SetRadiusCommand*>(other);  // same id() => same type
    if (mergeKey_ == 0 || o->mergeKey_ != mergeKey_ || o->sourceId_ != sourceId_) return false;
    after_ = o->after_;
    setObsolete(after_ == before_);  // dragged back to where it started: no undo step
    return true;
}
