// Package voice takes voice messages: short clips that a phone app uploads as
// AMR (what Android's MediaRecorder writes) or a browser as WebM/Opus or
// Ogg/Opus (what its MediaRecorder writes), and keeps each as Ogg/Opus, which
// every current browser plays in an <audio> element.
//
// An upload goes through, in order:
//
//  1. a size limit (Config.MaxBytes) while it is copied to a private working
//     folder;
//  2. its magic bytes: "#!AMR\n" (AMR-NB), "#!AMR-WB\n" (AMR-WB), the EBML
//     header 1A 45 DF A3 with DocType "webm", or "OggS" with an OpusHead
//     packet. Anything else is refused, in words that name what it is when
//     that is known ("a PNG is not an AMR file");
//  3. a bounded queue: at most Config.Concurrency transcodes run at once and
//     Config.Queue uploads wait for a turn; more are refused with ErrBusy;
//  4. ffprobe, made to read the file as the container its magic named (never
//     guessing, so a crafted file cannot pass as a playlist that reads other
//     files or URLs): it must find the codec that container should carry, and
//     a duration within Config.MaxDuration where the container states one;
//  5. ffmpeg: mono Opus for speech (libopus, -application voip, Config.Bitrate)
//     in Ogg, cut at a little over the limit so that a file that lied about
//     its length costs no more than that;
//  6. ffprobe again on the result, whose length is the clip's length;
//  7. the file is renamed into place as <data>/voice/<id>.ogg (id a ULID), then
//     recorded through Store with its owner, length, size and scope.
//
// On any refusal or failure nothing is left behind: the working folder is
// removed, and a file whose record could not be saved is removed too.
//
// Scope says who may hear a clip: a room's (anyone who may read that room) or
// a private conversation's (only its two people). The edge enforces it.
package voice
