using MediaService.Cli.Http;

namespace MediaService.Cli.Commands;

/// <summary><c>media rm ID</c>: <c>DELETE /media/{id}</c> (the bytes, renditions and search entry go too).</summary>
public sealed class RemoveCommand : Command
{
    public override string Name => "rm";

    public override string Usage => "ID";

    public override string Summary => "Deletes an item: its bytes, renditions and search entry. Prints nothing; exit 3 if there is no such item.";

    public override IReadOnlyList<OptionSpec> Options { get; } = [];

    public override async Task<int> RunAsync(Arguments args, CancellationToken cancellationToken)
    {
        var id = ParseId(args);
        using var api = new MediaApi(ServiceSettings.Resolve(args));
        using var response = await api.SendAsync(() => new HttpRequestMessage(HttpMethod.Delete, api.Resolve($"media/{id}")), $"rm {id}", cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw await MediaApi.ErrorAsync(response, $"rm {id}", cancellationToken);
        }

        return ExitCodes.Ok;
    }
}
