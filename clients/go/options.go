package client

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"
)

// Options says where and how to connect. The zero HTTPClient means
// http.DefaultClient.
type Options struct {
	// BaseURL is the server's root, e.g. "http://127.0.0.1:8080".
	BaseURL string
	// Room is the room id; it becomes the last path segment of the endpoint.
	Room string
	// Token is sent as "Authorization: Bearer <Token>" when not empty: the
	// stream key for WHIP, a session token for a private room's WHEP.
	Token string
	// LoopbackOnly keeps ICE on the loopback interface: UDP4 host candidates
	// on lo (loopback candidates included) and no mDNS.
	LoopbackOnly bool
	// HTTPClient sends the signalling requests.
	HTTPClient *http.Client
	// UDPGRO has the kernel hand a sender's burst of equal-sized datagrams
	// (the SFU's batched send of a video frame) over in one read rather than
	// one per packet (UDP_GRO; Linux only, an error elsewhere). It saves the
	// receiver's system calls and, on loopback, the segmentation and wakeups
	// the kernel would charge to the sender.
	UDPGRO bool
	// Interceptors are added closest to the wire, inside the default ones (NACK,
	// RTCP reports, TWCC): a lossy or slow link in tests, say.
	Interceptors []interceptor.Factory
	// Logger makes pion's loggers; nil: pion's own (warnings and errors on
	// stderr).
	Logger logging.LoggerFactory
}

func (o Options) httpClient() *http.Client {
	if o.HTTPClient != nil {
		return o.HTTPClient
	}
	return http.DefaultClient
}

// endpoint returns {BaseURL}/{kind}/{room}, kind being "whip" or "whep".
func (o Options) endpoint(kind string) (*url.URL, error) {
	if o.Room == "" {
		return nil, errors.New("onair: Options.Room is empty")
	}
	u, err := url.Parse(strings.TrimRight(o.BaseURL, "/"))
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errors.New("onair: Options.BaseURL must be an http or https URL")
	}
	return u.JoinPath(kind, o.Room), nil
}

// settingEngine returns the ICE settings that Options ask for; with UDPGRO,
// arr (when not nil) gets the receive time of each RTP packet.
func (o Options) settingEngine(arr *arrivals) (webrtc.SettingEngine, error) {
	var se webrtc.SettingEngine
	if o.Logger != nil {
		se.LoggerFactory = o.Logger
	}
	if o.UDPGRO {
		n, err := newGRONet(arr)
		if err != nil {
			return se, err
		}
		se.SetNet(n)
		// mDNS sockets cannot be read in batches; a client of a server
		// needs none.
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	}
	if o.LoopbackOnly {
		se.SetIncludeLoopbackCandidate(true)
		se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	}
	return se, nil
}

// newAPI builds a pion API from a media engine whose codecs are already
// registered; arr is settingEngine's. inner are the innermost interceptors, the first closest to the
// wire; Options.Interceptors and then the default ones (NACK, RTCP reports,
// TWCC) wrap them.
func (o Options) newAPI(m *webrtc.MediaEngine, arr *arrivals, inner ...interceptor.Factory) (*webrtc.API, error) {
	reg := &interceptor.Registry{}
	for _, f := range inner {
		reg.Add(f)
	}
	for _, f := range o.Interceptors {
		reg.Add(f)
	}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		return nil, err
	}
	se, err := o.settingEngine(arr)
	if err != nil {
		return nil, err
	}
	return webrtc.NewAPI(
		webrtc.WithMediaEngine(m),
		webrtc.WithInterceptorRegistry(reg),
		webrtc.WithSettingEngine(se),
	), nil
}
