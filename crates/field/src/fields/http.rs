//! `http.*`.

use crate::FieldDef;
use crate::FieldType::*;

crate::fields! { base 0xA000;
    HTTP = FieldDef::new("http", "Hypertext Transfer Protocol", Protocol);
    REQUEST = FieldDef::new("http.request", "Request", Bool);
    RESPONSE = FieldDef::new("http.response", "Response", Bool);
    REQUEST_METHOD = FieldDef::new("http.request.method", "Request Method", String);
    REQUEST_URI = FieldDef::new("http.request.uri", "Request URI", String);
    REQUEST_VERSION = FieldDef::new("http.request.version", "Request Version", String);
    RESPONSE_VERSION = FieldDef::new("http.response.version", "Response Version", String);
    RESPONSE_CODE = FieldDef::new("http.response.code", "Status Code", UInt);
    RESPONSE_PHRASE = FieldDef::new("http.response.phrase", "Response Phrase", String);
    HOST = FieldDef::new("http.host", "Host", String);
    REQUEST_LINE = FieldDef::new("http.request.line", "Request line", String);
    RESPONSE_LINE = FieldDef::new("http.response.line", "Response line", String);
    CONTENT_LENGTH = FieldDef::new("http.content_length", "Content length", UInt);
    CONTENT_TYPE = FieldDef::new("http.content_type", "Content-Type", String);
    USER_AGENT = FieldDef::new("http.user_agent", "User-Agent", String);
    COOKIE = FieldDef::new("http.cookie", "Cookie", String);
    REFERER = FieldDef::new("http.referer", "Referer", String);
    ACCEPT = FieldDef::new("http.accept", "Accept", String);
    ACCEPT_LANGUAGE = FieldDef::new("http.accept_language", "Accept-Language", String);
    ACCEPT_ENCODING = FieldDef::new("http.accept_encoding", "Accept-Encoding", String);
    CONNECTION = FieldDef::new("http.connection", "Connection", String);
    SERVER = FieldDef::new("http.server", "Server", String);
    LOCATION = FieldDef::new("http.location", "Location", String);
    UPGRADE = FieldDef::new("http.upgrade", "Upgrade", String);
    AUTHORIZATION = FieldDef::new("http.authorization", "Authorization", String);
}
