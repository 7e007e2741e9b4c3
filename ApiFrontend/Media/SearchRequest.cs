using System.Globalization;
using MediaService.DataPlane;
using MediaService.Grains.Interfaces;
using Microsoft.AspNetCore.Mvc;

namespace MediaService.ApiFrontend.Media;

/// <summary>The query of <c>GET /media</c> as it arrives (bound with <c>[AsParameters]</c>), and its rules: every
/// broken one is reported by field, all at once.</summary>
public sealed class SearchRequest
{
    private static readonly string[] Statuses = ["receiving", "stored", "failed", "expired", "terminated", "processing", "ready", "rejected"];

    /// <summary>Tags the items must all carry (repeatable).</summary>
    [FromQuery(Name = "tag")]
    public string[]? Tags { get; init; }

    /// <summary>Free text over title, keywords and description (web search syntax).</summary>
    [FromQuery(Name = "q")]
    public string? Text { get; init; }

    /// <summary>image, video or audio.</summary>
    [FromQuery(Name = "type")]
    public string? Type { get; init; }

    /// <summary>An upload status or a processing status.</summary>
    [FromQuery(Name = "status")]
    public string? Status { get; init; }

    /// <summary>Created strictly after (ISO 8601).</summary>
    [FromQuery(Name = "createdAfter")]
    public string? CreatedAfter { get; init; }

    /// <summary>Created strictly before (ISO 8601).</summary>
    [FromQuery(Name = "createdBefore")]
    public string? CreatedBefore { get; init; }

    /// <summary>created (newest first, the default) or relevance (needs q).</summary>
    [FromQuery(Name = "sort")]
    public string? Sort { get; init; }

    /// <summary>Items per page.</summary>
    [FromQuery(Name = "limit")]
    public string? Limit { get; init; }

    /// <summary>Where the previous page ended (its <c>cursor</c>).</summary>
    [FromQuery(Name = "cursor")]
    public string? Cursor { get; init; }

    /// <summary>The search of <paramref name="owner"/>'s items, or null and the broken rules by field.</summary>
    public (SearchQuery? Query, Dictionary<string, string[]> Errors) Validate(MetadataOptions limits, string owner)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var tags = new List<string>();
        foreach (var tag in Tags ?? [])
        {
            var normalized = AnnotationRules.NormalizeTag(tag);
            if (normalized.Length == 0 || normalized.Length > limits.MaxTagLength)
            {
                errors["tag"] = [$"A tag has 1 to {limits.MaxTagLength} characters."];
            }
            else if (!tags.Contains(normalized))
            {
                tags.Add(normalized);
            }
        }

        var text = string.IsNullOrWhiteSpace(Text) ? null : Text.Trim();
        if (text?.Length > limits.MaxQueryLength)
        {
            errors["q"] = [$"At most {limits.MaxQueryLength} characters."];
        }

        if (Type is not (null or "image" or "video" or "audio"))
        {
            errors["type"] = ["One of image, video, audio."];
        }

        if (Status is not null && !Statuses.Contains(Status))
        {
            errors["status"] = [$"One of {string.Join(", ", Statuses)}."];
        }

        var after = Instant("createdAfter", CreatedAfter, errors);
        var before = Instant("createdBefore", CreatedBefore, errors);
        var order = Sort switch
        {
            null or "created" => SearchSort.Created,
            "relevance" when text is not null => SearchSort.Relevance,
            "relevance" => Error(errors, "sort", "Sorting by relevance needs a text query (q)."),
            _ => Error(errors, "sort", "One of created, relevance."),
        };
        var pageSize = limits.DefaultPageSize;
        if (Limit is not null && (!int.TryParse(Limit, NumberStyles.None, CultureInfo.InvariantCulture, out pageSize) || pageSize < 1 || pageSize > limits.MaxPageSize))
        {
            errors["limit"] = [$"A whole number from 1 to {limits.MaxPageSize}."];
        }

        var position = SearchCursor.Decode(Cursor);
        if (Cursor is not null && (position is null || position.Sort != order))
        {
            errors["cursor"] = ["Not a cursor of this search: use the one a page of the same search returned."];
        }

        return errors.Count > 0
            ? (null, errors)
            : (new SearchQuery(tags, text, Type, Status, after, before, order, Math.Min(pageSize, limits.MaxPageSize), position, owner), errors);
    }

    private static SearchSort Error(Dictionary<string, string[]> errors, string field, string message)
    {
        errors[field] = [message];
        return SearchSort.Created;
    }

    private static DateTimeOffset? Instant(string field, string? value, Dictionary<string, string[]> errors)
    {
        if (value is null)
        {
            return null;
        }

        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var instant))
        {
            return instant;
        }

        errors[field] = ["An ISO 8601 date and time, such as 2026-11-25T10:00:00Z."];
        return null;
    }
}
