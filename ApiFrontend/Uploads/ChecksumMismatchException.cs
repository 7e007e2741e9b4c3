namespace MediaService.ApiFrontend.Uploads;

/// <summary>The body's digest differs from its Upload-Checksum; nothing of it was counted (tus: 460). Thrown by the
/// writer, which verifies the body as it streams it, whatever protocol announced the checksum.</summary>
public sealed class ChecksumMismatchException() : Exception("The body does not match its Upload-Checksum; it was discarded.");
