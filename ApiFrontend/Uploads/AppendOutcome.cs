using MediaService.Grains.Interfaces;

namespace MediaService.ApiFrontend.Uploads;

/// <summary>How an append ended.</summary>
/// <param name="Offset">The durable offset after the append.</param>
/// <param name="Stored">The item, when this append completed it.</param>
/// <param name="Interrupted">Why the client's body ended early (what arrived was kept), or null when it did not.</param>
public sealed record AppendOutcome(long Offset, MediaItemView? Stored, string? Interrupted);
