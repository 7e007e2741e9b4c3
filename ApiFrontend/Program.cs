using MediaService.ApiFrontend;
using MediaService.ApiFrontend.Health;
using MediaService.ApiFrontend.Media;

var builder = WebApplication.CreateBuilder(args);
builder.AddMediaFrontend();

var app = builder.Build();
app.UseMediaFrontend();
app.Run();

/// <summary>Entry point, visible to the integration tests' WebApplicationFactory.</summary>
public partial class Program;
