using MediaService.InProcessTests.Host;
using MediaService.TestRules;

namespace MediaService.InProcessTests;

/// <summary>The IETF draft's rules (<see cref="IetfDraftRules"/>), every interop version, against the in-process host.</summary>
public sealed class IetfDraftTests(InProcessHost host) : IetfDraftRules(host.Http, InProcessHost.MaxUploadBytes), IClassFixture<InProcessHost>;
