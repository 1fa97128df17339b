#!/bin/sh
# Makes the AMR fixtures: Debian's ffmpeg decodes AMR but cannot encode it, so
# GStreamer's amrnbenc / voamrwbenc do (shared/notes/real-peers.md, section 3).
#   apt-get install espeak-ng gstreamer1.0-tools gstreamer1.0-plugins-base \
#     gstreamer1.0-plugins-ugly gstreamer1.0-plugins-bad gstreamer1.0-libav
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
espeak-ng -w "$tmp/speech.wav" "This is a voice message from on air. One, two, three."
gst-launch-1.0 -q filesrc location="$tmp/speech.wav" ! wavparse ! audioconvert ! audioresample \
  ! audio/x-raw,rate=8000,channels=1 ! amrnbenc band-mode=MR122 ! avmux_amr ! filesink location=speech-nb.amr
gst-launch-1.0 -q filesrc location="$tmp/speech.wav" ! wavparse ! audioconvert ! audioresample \
  ! audio/x-raw,rate=16000,channels=1 ! voamrwbenc ! avmux_amr ! filesink location=speech-wb.amr
