package appliance

import _ "embed"

// OpenAPI is the OpenAPI 3 document of both surfaces, served at
// /openapi.json when RECOTEM_ENV is development, dev or test.
//
//go:embed openapi.json
var OpenAPI []byte

const docsHTML = `<!doctype html><html><head><meta charset="utf-8"><title>recotem serve API</title></head>
<body><h1>recotem serve API</h1><p>The OpenAPI 3 document of both surfaces is at <a href="/openapi.json">/openapi.json</a>.</p></body></html>`
