package signaling

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/onair-live/onair/sfu"
)

// The WHEP layer extension (draft-ietf-wish-whep-01 §4.6.1): a viewer's
// session URL has a /layer resource, advertised in a Link header with
// rel="urn:ietf:params:whep:ext:core:layer", where the player chooses the
// simulcast layer of a video (mediaId: which co-host, "0" the first) by
// encodingId ("low", "mid", "high", or the RIDs q, h, f), or gives the
// choice back to the server ("auto", or no encodingId). A small player caps
// the server's choice with maxEncodingId (onair's addition), so it is not
// sent more than it can show.

// layerRel names the extension in Link headers.
const layerRel = "urn:ietf:params:whep:ext:core:layer"

// maxLayerBody bounds a layer request.
const maxLayerBody = 1 << 10

type layerRequest struct {
	MediaID       string `json:"mediaId"`
	EncodingID    string `json:"encodingId"`
	MaxEncodingID string `json:"maxEncodingId"`
}

// layer serves POST {session}/layer.
func (r *resource) layer(c echo.Context) error {
	setCORS(c.Response().Header())
	sess, err := r.session(c)
	if err != nil {
		return writeProblem(c, err)
	}
	if mt := c.Request().Header.Get(echo.HeaderContentType); mt != "application/json" {
		return writeProblem(c, fmt.Errorf("%w: send Content-Type: application/json (got %q)", ErrBadMediaType, mt))
	}
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, maxLayerBody+1))
	if err != nil || len(body) > maxLayerBody {
		return writeProblem(c, fmt.Errorf("%w: the limit is %d bytes", ErrBodyTooLarge, maxLayerBody))
	}
	var req layerRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return writeProblem(c, fmt.Errorf("%w: the body is not JSON like {\"mediaId\":\"0\",\"encodingId\":\"low\"}: %v", sfu.ErrBadLayer, err))
	}
	media := 0
	if req.MediaID != "" {
		if media, err = strconv.Atoi(req.MediaID); err != nil || media < 0 {
			return writeProblem(c, fmt.Errorf("%w: mediaId %q: the index of a video, \"0\" for the first", sfu.ErrBadLayer, req.MediaID))
		}
	}
	pin, err := sfu.ParseLayer(req.EncodingID)
	if err != nil {
		return writeProblem(c, err)
	}
	cap, err := sfu.ParseLayer(req.MaxEncodingID)
	if err != nil {
		return writeProblem(c, err)
	}
	if err := sess.SetLayer(media, pin, cap); err != nil {
		return writeProblem(c, err)
	}
	return c.NoContent(http.StatusNoContent)
}
