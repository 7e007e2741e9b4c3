using System.Reflection;
using Microsoft.Extensions.Logging;

namespace MediaService.UnitTests;

/// <summary>Every [LoggerMessage] of the service has an event id of its own, inside one of the ranges of
/// <see cref="LogEvents"/>.</summary>
public sealed class LogEventsTests
{
    [Fact]
    public void EveryLogEventIdIsUniqueAndInItsArea()
    {
        var assemblies = new[]
        {
            typeof(MediaService.DataPlane.MediaIndex).Assembly,
            typeof(MediaService.Grains.MediaItemGrain).Assembly,
            typeof(MediaService.ApiFrontend.Http.ApiErrors).Assembly,
        };
        var events = assemblies
            .SelectMany(a => a.GetTypes())
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.DeclaredOnly))
            .Select(m => (Method: $"{m.DeclaringType!.Name}.{m.Name}", Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(e => e.Attribute is not null)
            .ToList();

        Assert.True(events.Count > 50, $"only {events.Count} log events found");
        var duplicates = events.GroupBy(e => e.Attribute!.EventId).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(e => e.Method))}").ToList();
        Assert.True(duplicates.Count == 0, "Event ids used twice: " + string.Join("; ", duplicates));
        var outside = events.Where(e => !LogEvents.Areas.Any(a => e.Attribute!.EventId > a && e.Attribute.EventId < a + 100))
            .Select(e => $"{e.Method} ({e.Attribute!.EventId})").ToList();
        Assert.True(outside.Count == 0, "Event ids outside every area: " + string.Join(", ", outside));
    }
}
