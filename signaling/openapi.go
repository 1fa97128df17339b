package signaling

import _ "embed"

// openAPI documents the REST API; a test keeps it in step with the routes.
//
//go:embed openapi.json
var openAPI []byte
