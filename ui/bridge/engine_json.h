// Qt JSON → the engine's JSON (nlohmann): one conversion for every place a Qt-built config meets the engine.
#pragma once
#include <QJsonDocument>
#include <QJsonObject>

#include <nlohmann/json.hpp>

inline nlohmann::json toEngineJson(const QJsonObject& object) {
    return nlohmann::json::parse(QJsonDocument(object).toJson(QJsonDocument::Compact).toStdString());
}
