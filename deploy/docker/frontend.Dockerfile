# syntax=docker/dockerfile:1
# The HTTP API and Orleans client (ApiFrontend/ApiFrontend.csproj). Build from the repository root:
#   docker build -f deploy/docker/frontend.Dockerfile -t ghcr.io/example/media-frontend:latest .

# The web app's Uppy bundle (web/package-lock.json pins it), installed as web/install.sh does.
FROM node:20-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
# Host build output must not leak into the image build (see silo.Dockerfile).
RUN find . -type d \( -name bin -o -name obj \) -prune -exec rm -rf {} +
# After the clean-up above, which would take node_modules' bin folders too: the build copies uppy's dist to /app/vendor.
COPY --from=web /src/web/node_modules/uppy/dist ./web/node_modules/uppy/dist
RUN --mount=type=cache,id=nuget,target=/root/.nuget/packages \
    dotnet publish ApiFrontend/ApiFrontend.csproj -c Release -o /app --nologo -p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./

# ApiFrontend/appsettings.json sets "Urls" (127.0.0.1:5080 for ./run.sh), and appsettings.json takes precedence
# over ASPNETCORE_URLS (host configuration is read first; dotnet/aspnetcore#41167). The unprefixed Urls variable is read
# after appsettings.json, so it is what actually moves Kestrel to 0.0.0.0:8080; ASPNETCORE_URLS is kept for clarity.
ENV ASPNETCORE_URLS=http://0.0.0.0:8080 \
    Urls=http://0.0.0.0:8080
EXPOSE 8080

# Non-root: the numeric "app" user of the .NET images.
USER $APP_UID
ENTRYPOINT ["dotnet", "ApiFrontend.dll"]
