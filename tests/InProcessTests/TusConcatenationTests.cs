using MediaService.InProcessTests.Host;
using MediaService.TestRules;

namespace MediaService.InProcessTests;

/// <summary>tus concatenation's rules (<see cref="TusConcatenationRules"/>) against the in-process host.</summary>
public sealed class TusConcatenationTests(InProcessHost host) : TusConcatenationRules(host.Http), IClassFixture<InProcessHost>;
