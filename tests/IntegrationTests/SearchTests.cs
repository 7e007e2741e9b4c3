using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MediaService.IntegrationTests.Infrastructure;
using MediaService.Tests;

namespace MediaService.IntegrationTests;

/// <summary>GET /media against the PostgreSQL index the grains write. Each test tags its items with a tag of its own.</summary>
[Collection(MediaServiceCollection.Name)]
public sealed class SearchTests(MediaServiceFixture fixture)
{
    private readonly HttpClient _http = fixture.Http;
    private readonly string _tag = $"t{Guid.NewGuid():N}"[..12];

    private async Task<long> ItemAsync(byte[] body, string name, string type, string annotations)
    {
        var id = await MediaFiles.UploadAsync(_http, body, name, type);
        using var request = new HttpRequestMessage(HttpMethod.Patch, $"/media/{id}/metadata") { Content = new StringContent(annotations, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/merge-patch+json");
        using var response = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return id;
    }

    private async Task<long[]> IdsAsync(string query)
    {
        using var response = await _http.GetAsync($"/media?tag={_tag}&{query}");
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{query}: {await response.Content.ReadAsStringAsync()}");
        var page = await response.Content.ReadFromJsonAsync<JsonElement>();
        return [.. page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetInt64())];
    }

    [Fact]
    public async Task EveryFilterAndTheirCombinationsFindExactlyTheirItems()
    {
        var sunset = await ItemAsync(MediaCorpus.Image(64, 48, new SixLabors.ImageSharp.Formats.Png.PngEncoder()), "s.png", "image/png",
            $$"""{"title":"Sunset over the bay","tags":["{{_tag}}","beach","sunset"],"keywords":["orange sky"]}""");
        var football = await ItemAsync(Encoding.UTF8.GetBytes("not media"), "f.txt", "text/plain",
            $$"""{"description":"Children playing football on the beach","tags":["{{_tag}}","Beach"]}""");
        var city = await ItemAsync(Encoding.UTF8.GetBytes("not media either"), "c.txt", "text/plain",
            $$"""{"title":"City lights","keywords":["skyline","night"],"tags":["{{_tag}}","city"]}""");
        await MediaFiles.ProcessedAsync(_http, sunset);
        await MediaFiles.ProcessedAsync(_http, football);
        await MediaFiles.ProcessedAsync(_http, city);

        Assert.Equal([city, football, sunset], await IdsAsync("")); // newest first
        Assert.Equal([football, sunset], await IdsAsync("tag=beach"));
        Assert.Equal([sunset], await IdsAsync("tag=beach&tag=SUNSET"));
        Assert.Empty(await IdsAsync("tag=beach&tag=city"));
        Assert.Equal([sunset], await IdsAsync("q=sunset"));
        Assert.Equal([football], await IdsAsync("q=footballs")); // stemmed
        Assert.Equal([city], await IdsAsync("q=skyline"));
        Assert.Equal([city], await IdsAsync("q=light"));
        Assert.Equal([football, sunset], await IdsAsync("q=beach%20OR%20bay"));
        Assert.Equal([city, football], await IdsAsync("q=-sunset"));
        await Eventually.HoldsAsync(() => IdsAsync("type=image"), ids => ids.SequenceEqual([sunset]), TimeSpan.FromSeconds(10), "the kind indexed once processed");
        Assert.Equal([sunset], await IdsAsync("status=ready"));
        Assert.Equal([city, football], await IdsAsync("status=rejected"));
        Assert.Equal([city, football, sunset], await IdsAsync("status=stored"));
        Assert.Empty(await IdsAsync("status=receiving"));
        Assert.Equal([football], await IdsAsync("tag=beach&status=stored&q=beach")); // tags are filters, not text

        var created = (await _http.GetFromJsonAsync<JsonElement>($"/media/{football}")).GetProperty("createdAt").GetDateTimeOffset();
        Assert.Equal([city], await IdsAsync($"createdAfter={Uri.EscapeDataString(created.ToString("O"))}"));
        Assert.Equal([sunset], await IdsAsync($"createdBefore={Uri.EscapeDataString(created.ToString("O"))}"));
    }

    [Fact]
    public async Task RelevanceRanksTheTitleAboveTheDescription()
    {
        var inDescription = await ItemAsync(Encoding.UTF8.GetBytes("a"), "a.txt", "text/plain",
            $$"""{"description":"A long walk and then a lighthouse far away","tags":["{{_tag}}"]}""");
        var inTitle = await ItemAsync(Encoding.UTF8.GetBytes("b"), "b.txt", "text/plain", $$"""{"title":"Lighthouse","tags":["{{_tag}}"]}""");

        Assert.Equal([inTitle, inDescription], await IdsAsync("q=lighthouse&sort=relevance"));
        Assert.Equal([inTitle], await IdsAsync("q=lighthouse&sort=relevance&limit=1"));
    }

    [Fact]
    public async Task PagesNeitherSkipNorRepeatWhileNewItemsArrive()
    {
        var existing = new List<long>();
        for (var i = 0; i < 7; i++)
        {
            existing.Add(await ItemAsync(Encoding.UTF8.GetBytes($"item {i}"), $"{i}.txt", "text/plain", $$"""{"tags":["{{_tag}}"]}"""));
        }

        var seen = new List<long>();
        string? next = $"/media?tag={_tag}&limit=3";
        var pages = 0;
        while (next is not null)
        {
            var page = await _http.GetFromJsonAsync<JsonElement>(next);
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetInt64()));
            next = page.TryGetProperty("next", out var link) ? link.GetString() : null;
            pages++;
            // Newer items arrive between pages: they sort before the cursor, so they belong to a new search.
            await ItemAsync(Encoding.UTF8.GetBytes("late"), "late.txt", "text/plain", $$"""{"tags":["{{_tag}}"]}""");
        }

        Assert.Equal(3, pages);
        Assert.Equal(Enumerable.Reverse(existing), seen);
    }

    [Theory]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=1000", "limit")]
    [InlineData("type=document", "type")]
    [InlineData("status=lost", "status")]
    [InlineData("sort=relevance", "sort")]
    [InlineData("sort=size", "sort")]
    [InlineData("cursor=garbage", "cursor")]
    [InlineData("createdAfter=yesterday", "createdAfter")]
    public async Task BadSearchParametersAre400NamingTheParameter(string query, string field)
    {
        using var response = await _http.GetAsync($"/media?{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }
}
