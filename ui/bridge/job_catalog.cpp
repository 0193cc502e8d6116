#include "bridge/job_catalog.h"

#include "jobs/job_factory.h"

JobCatalog JobCatalog::engine() {
    JobCatalog c;
    c.kinds = [] {
        QMap<QString, QString> out;
        for (const auto& k : coalesce::jobKinds())
            out.insert(QString::fromStdString(k), QString::fromStdString(coalesce::jobKindSummary(k)));
        return out;
    };
    c.create = [](const coalesce::Json& config) { return coalesce::createJob(config); };
    return c;
}
