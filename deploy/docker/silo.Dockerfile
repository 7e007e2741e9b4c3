# syntax=docker/dockerfile:1
# The Orleans silo (Silo/Silo.csproj). Build from the repository root:
#   docker build -f deploy/docker/silo.Dockerfile -t ghcr.io/example/media-silo:latest .

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
# Host build output must not leak into the image build (stale obj/project.assets.json with host paths);
# a .dockerignore at the repository root (see deploy/README.md) keeps it out of the context in the first place.
RUN find . -type d \( -name bin -o -name obj \) -prune -exec rm -rf {} +
RUN --mount=type=cache,id=nuget,target=/root/.nuget/packages \
    dotnet publish Silo/Silo.csproj -c Release -o /app --nologo -p:UseAppHost=false

# Note: the .NET 10 aspnet image is Ubuntu 24.04 ("noble"); apt works as on Debian. util-linux (prlimit) and
# coreutils (nice) are in the base image; ffmpeg brings ffmpeg and ffprobe.
FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app ./

# The silo's own HTTP port (/metrics, /health/live, /health/ready, /dashboard) listens on every interface;
# Kestrel is bound in code (Silo:HttpAddress/Silo:HttpPort), so the image's default HTTP port setting is cleared.
ENV Silo__HttpAddress=0.0.0.0 \
    ASPNETCORE_HTTP_PORTS=
# 11111 silo-to-silo, 30000 gateway (frontends), 11180 HTTP.
EXPOSE 11111 30000 11180

# Non-root: the numeric "app" user of the .NET images.
USER $APP_UID
ENTRYPOINT ["dotnet", "Silo.dll"]
