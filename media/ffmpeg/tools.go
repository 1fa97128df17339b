package ffmpeg

import "context"

// RunFFmpeg runs ffmpeg with args to completion (see Run).
func (t Tools) RunFFmpeg(ctx context.Context, args []string) error {
	return Run(ctx, Cmd{Path: t.FFmpeg, Args: args})
}
