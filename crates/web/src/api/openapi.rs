//! The OpenAPI 3.1 document, built from the route table and the types'
//! JSON schemas, so it cannot drift from the code.

use std::sync::OnceLock;

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use super::{RouteAuth, api_routes};
use crate::error::ErrorCode;

pub fn build() -> Value {
    let mut generator = SchemaSettings::openapi3().into_generator();
    let mut paths = Map::new();
    let mut websockets = Vec::new();
    for route in api_routes() {
        let params: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut params = params;
        if let Some(query) = route.query {
            params.extend(query_parameters(&mut generator, query));
        }
        let mut op = json!({
            "operationId": route.operation_id,
            "summary": route.summary,
            "tags": [route.tag],
            "parameters": params,
        });
        if let Some(request) = route.request {
            let mut content = json!({"schema": request(&mut generator).to_value()});
            if let Some(example) = &route.example {
                content["example"] = example.clone();
            }
            op["requestBody"] = json!({"required": true, "content": {"application/json": content}});
        }
        if route.file_body {
            op["requestBody"] = json!({"required": true, "content": {"text/plain": {"schema": {
                "type": "string", "minLength": 1, "maxLength": 4096, "pattern": "^[A-Za-z0-9 .,!?-]+$",
                "description": "The file's bytes (here a text file; images, audio, video and documents too)"
            }}}});
        }
        let success = match route.response {
            Some(response) => {
                json!({"description": "OK", "content": {"application/json": {"schema": response(&mut generator).to_value()}}})
            }
            None => json!({"description": "OK"}),
        };
        op["responses"] = json!({
            route.success.to_string(): success,
            "default": {"description": "An error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        });
        if route.websocket {
            websockets.push(json!({"path": route.path, "summary": route.summary, "parameters": op["parameters"]}));
            continue;
        }
        op["security"] = match route.auth {
            RouteAuth::Public | RouteAuth::Signature => json!([]),
            RouteAuth::User => json!([{"session": []}, {"bearer": []}]),
            RouteAuth::Visitor => json!([{"visitor": []}]),
        };
        paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .map(|o| o.insert(route.method.as_str().to_lowercase(), op));
    }
    let mut schemas = generator.take_definitions(true);
    let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    schemas.insert(
        "Error".into(),
        json!({
            "type": "object",
            "required": ["error"],
            "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
                "code": {"type": "string", "enum": codes},
                "message": {"type": "string"}
            }}}
        }),
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Switchboard API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Omnichannel customer-support inbox. Errors are {\"error\":{\"code\",\"message\"}} with the codes listed in the Error schema.",
        },
        "paths": paths,
        // WebSocket endpoints (a GET with an upgrade; OpenAPI describes no such operation).
        "x-websockets": websockets,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE},
                "bearer": {"type": "http", "scheme": "bearer"},
                "visitor": {"type": "http", "scheme": "bearer", "description": "A widget visitor token from /widget/v1/session"},
            }
        }
    })
}

/// A query type's fields as query parameters: its schema (a `$ref` to the
/// type's definition) is looked up, and each property becomes one
/// parameter, required as the type says.
fn query_parameters(generator: &mut schemars::SchemaGenerator, query: super::SchemaFn) -> Vec<Value> {
    let reference = query(generator).to_value();
    let definition = reference
        .get("$ref")
        .and_then(|r| r.as_str())
        .and_then(|r| r.rsplit('/').next())
        .and_then(|name| generator.definitions().get(name).cloned())
        .unwrap_or(reference);
    let required: Vec<&str> = definition
        .get("required")
        .and_then(|r| r.as_array())
        .map(|r| r.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    definition
        .get("properties")
        .and_then(|p| p.as_object())
        .map(|properties| {
            properties
                .iter()
                .map(|(name, schema)| {
                    let mut param = json!({"name": name, "in": "query", "required": required.contains(&name.as_str()),
                                           "schema": schema});
                    if let Some(description) = schema.get("description") {
                        param["description"] = description.clone();
                    }
                    param
                })
                .collect()
        })
        .unwrap_or_default()
}

pub async fn document() -> impl IntoResponse {
    static DOC: OnceLock<String> = OnceLock::new();
    let body = DOC.get_or_init(|| build().to_string()).clone();
    ([(CONTENT_TYPE, "application/json")], body)
}
