using MediaService.Grains.Domain;
using MediaService.Grains.Interfaces;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace MediaService.UnitTests;

/// <summary>The item's state as grain storage writes it (Orleans' serializer): what one activation wrote, the next reads.</summary>
public sealed class MediaItemStateSerializationTests
{
    [Fact]
    public void TheOutboxSurvivesARoundTripThroughTheStorageSerializer()
    {
        using var services = new ServiceCollection().AddSerializer().BuildServiceProvider();
        var serializer = services.GetRequiredService<Serializer<MediaItemState>>();
        var state = MediaItemState.Empty with
        {
            Status = MediaStatus.Stored,
            Version = 4,
            Owner = "dev",
            Outbox = [new MediaEvent("evt_a", MediaEventTypes.Updated, 7, 4, DateTimeOffset.UnixEpoch, """{"type":"media.updated"}""")],
        };

        var read = serializer.Deserialize(serializer.SerializeToArray(state))!;

        Assert.Equal(4, read.Version);
        Assert.Equal(state.Outbox.Single(), read.Outbox.Single());
    }
}
