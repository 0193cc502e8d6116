// Where jobs come from: by default the engine's registry (jobs/job_factory.h); tests substitute
// fakes. Torch-free.
#pragma once
#include <QMap>
#include <QString>
#include <functional>
#include <memory>

#include "core/job.h"

struct JobCatalog {
    std::function<QMap<QString, QString>()> kinds;                            // kind -> summary
    std::function<std::unique_ptr<coalesce::Job>(const coalesce::Json&)> create;  // may throw coalesce::Error

    static JobCatalog engine();
};
