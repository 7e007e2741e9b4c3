using MediaService.IntegrationTests.Infrastructure;
using MediaService.TestRules;

namespace MediaService.IntegrationTests;

/// <summary>tus concatenation's rules (<see cref="TusConcatenationRules"/>) on the real stack: partials in s3rver, the
/// final assembled by streaming them through the writer.</summary>
[Collection(MediaServiceCollection.Name)]
public sealed class TusConcatenationTests(MediaServiceFixture fixture) : TusConcatenationRules(fixture.Http);
