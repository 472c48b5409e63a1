//! `http.*`: HTTP/1.x requests and responses as one TCP segment shows them, with Wireshark
//! 4.0's names. Header lines keep their CRLF in `http.request.line`/`http.response.line`, as in
//! Wireshark, so that `contains` filters match the same bytes.

use crate::FieldDef;
use crate::FieldType::*;

/// `http.response.code` descriptions (RFC 9110 and Wireshark's `vals_http_status_code`).
pub static STATUS_CODES: &[(i64, &str)] = &[
    (100, "Continue"),
    (101, "Switching Protocols"),
    (102, "Processing"),
    (103, "Early Hints"),
    (200, "OK"),
    (201, "Created"),
    (202, "Accepted"),
    (203, "Non-authoritative Information"),
    (204, "No Content"),
    (205, "Reset Content"),
    (206, "Partial Content"),
    (207, "Multi-Status"),
    (208, "Already Reported"),
    (226, "IM Used"),
    (300, "Multiple Choices"),
    (301, "Moved Permanently"),
    (302, "Found"),
    (303, "See Other"),
    (304, "Not Modified"),
    (305, "Use Proxy"),
    (307, "Temporary Redirect"),
    (308, "Permanent Redirect"),
    (400, "Bad Request"),
    (401, "Unauthorized"),
    (402, "Payment Required"),
    (403, "Forbidden"),
    (404, "Not Found"),
    (405, "Method Not Allowed"),
    (406, "Not Acceptable"),
    (407, "Proxy Authentication Required"),
    (408, "Request Time-out"),
    (409, "Conflict"),
    (410, "Gone"),
    (411, "Length Required"),
    (412, "Precondition Failed"),
    (413, "Request Entity Too Large"),
    (414, "Request-URI Too Long"),
    (415, "Unsupported Media Type"),
    (416, "Requested Range Not Satisfiable"),
    (417, "Expectation Failed"),
    (418, "I'm a teapot"),
    (421, "Misdirected Request"),
    (422, "Unprocessable Entity"),
    (423, "Locked"),
    (424, "Failed Dependency"),
    (425, "Too Early"),
    (426, "Upgrade Required"),
    (428, "Precondition Required"),
    (429, "Too Many Requests"),
    (431, "Request Header Fields Too Large"),
    (451, "Unavailable For Legal Reasons"),
    (500, "Internal Server Error"),
    (501, "Not Implemented"),
    (502, "Bad Gateway"),
    (503, "Service Unavailable"),
    (504, "Gateway Time-out"),
    (505, "HTTP Version not supported"),
    (506, "Variant Also Negotiates"),
    (507, "Insufficient Storage"),
    (508, "Loop Detected"),
    (510, "Not Extended"),
    (511, "Network Authentication Required"),
];

crate::fields! { base 0xA000;
    HTTP = FieldDef::new("http", "Hypertext Transfer Protocol", Protocol);
    REQUEST = FieldDef::new("http.request", "Request", Bool).blurb("TRUE if HTTP request");
    RESPONSE = FieldDef::new("http.response", "Response", Bool).blurb("TRUE if HTTP response");
    REQUEST_METHOD = FieldDef::new("http.request.method", "Request Method", String).blurb("HTTP Request Method");
    REQUEST_URI = FieldDef::new("http.request.uri", "Request URI", String).blurb("HTTP Request-URI");
    REQUEST_VERSION = FieldDef::new("http.request.version", "Request Version", String).blurb("HTTP Request HTTP-Version");
    RESPONSE_VERSION = FieldDef::new("http.response.version", "Response Version", String).blurb("HTTP Response HTTP-Version");
    RESPONSE_CODE = FieldDef::new("http.response.code", "Status Code", UInt).strings(STATUS_CODES).blurb("HTTP Response Status Code");
    RESPONSE_PHRASE = FieldDef::new("http.response.phrase", "Response Phrase", String).blurb("HTTP Response Reason Phrase");
    HOST = FieldDef::new("http.host", "Host", String).blurb("HTTP Host");
    REQUEST_LINE = FieldDef::new("http.request.line", "Request line", String);
    RESPONSE_LINE = FieldDef::new("http.response.line", "Response line", String);
    CONTENT_LENGTH = FieldDef::new("http.content_length", "Content length", UInt);
    CONTENT_TYPE = FieldDef::new("http.content_type", "Content-Type", String).blurb("HTTP Content-Type header");
    USER_AGENT = FieldDef::new("http.user_agent", "User-Agent", String).blurb("HTTP User-Agent header");
    COOKIE = FieldDef::new("http.cookie", "Cookie", String).blurb("HTTP Cookie");
    REFERER = FieldDef::new("http.referer", "Referer", String).blurb("HTTP Referer");
    ACCEPT = FieldDef::new("http.accept", "Accept", String).blurb("HTTP Accept");
    ACCEPT_LANGUAGE = FieldDef::new("http.accept_language", "Accept-Language", String).blurb("HTTP Accept Language");
    ACCEPT_ENCODING = FieldDef::new("http.accept_encoding", "Accept Encoding", String).blurb("HTTP Accept Encoding");
    CONNECTION = FieldDef::new("http.connection", "Connection", String).blurb("HTTP Connection");
    SERVER = FieldDef::new("http.server", "Server", String).blurb("HTTP Server");
    LOCATION = FieldDef::new("http.location", "Location", String).blurb("HTTP Location");
    UPGRADE = FieldDef::new("http.upgrade", "Upgrade", String).blurb("HTTP Upgrade");
    AUTHORIZATION = FieldDef::new("http.authorization", "Authorization", String).blurb("HTTP Authorization header");
    REQUEST_URI_PATH = FieldDef::new("http.request.uri.path", "Request URI Path", String);
    REQUEST_URI_QUERY = FieldDef::new("http.request.uri.query", "Request URI Query", String);
    REQUEST_URI_QUERY_PARAMETER = FieldDef::new("http.request.uri.query.parameter", "Request URI Query Parameter", String);
    REQUEST_FULL_URI = FieldDef::new("http.request.full_uri", "Full request URI", String).generated().blurb("The full requested URI (including host name)");
    RESPONSE_CODE_DESC = FieldDef::new("http.response.code.desc", "Status Code Description", String).blurb("HTTP Response Status Code Description");
    CONTENT_LENGTH_HEADER = FieldDef::new("http.content_length_header", "Content-Length", String).blurb("HTTP Content-Length header");
    CONTENT_ENCODING = FieldDef::new("http.content_encoding", "Content-Encoding", String).blurb("HTTP Content-Encoding header");
    TRANSFER_ENCODING = FieldDef::new("http.transfer_encoding", "Transfer-Encoding", String).blurb("HTTP Transfer-Encoding header");
    DATE = FieldDef::new("http.date", "Date", String).blurb("HTTP Date");
    CACHE_CONTROL = FieldDef::new("http.cache_control", "Cache-Control", String).blurb("HTTP Cache Control");
    SET_COOKIE = FieldDef::new("http.set_cookie", "Set-Cookie", String).blurb("HTTP Set Cookie");
    LAST_MODIFIED = FieldDef::new("http.last_modified", "Last-Modified", String).blurb("HTTP Last Modified");
    X_FORWARDED_FOR = FieldDef::new("http.x_forwarded_for", "X-Forwarded-For", String).blurb("HTTP X-Forwarded-For");
    WWW_AUTHENTICATE = FieldDef::new("http.www_authenticate", "WWW-Authenticate", String).blurb("HTTP WWW-Authenticate header");
    PROXY_AUTHENTICATE = FieldDef::new("http.proxy_authenticate", "Proxy-Authenticate", String).blurb("HTTP Proxy-Authenticate header");
    PROXY_AUTHORIZATION = FieldDef::new("http.proxy_authorization", "Proxy-Authorization", String).blurb("HTTP Proxy-Authorization header");
    COOKIE_PAIR = FieldDef::new("http.cookie_pair", "Cookie pair", String).blurb("A name/value HTTP cookie pair");
    FILE_DATA = FieldDef::new("http.file_data", "File Data", String);
    CHAT = FieldDef::new("http.chat", "Formatted text", None);
    AUTHBASIC = FieldDef::new("http.authbasic", "Credentials", String);
}
