using System.Collections.Immutable;
using System.Text.Json;
using MediaService.Grains.Interfaces;

namespace MediaService.ApiFrontend.Media;

/// <summary>Reads a JSON merge patch of the annotations, reporting each member of the wrong shape.</summary>
public static class MergePatch
{
    /// <summary>The patch, or the errors by field.</summary>
    public static (AnnotationsPatch? Patch, Dictionary<string, string[]> Errors) Read(JsonElement root)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (root.ValueKind != JsonValueKind.Object)
        {
            errors["$"] = ["A merge patch is a JSON object."];
            return (null, errors);
        }

        if (InvalidText(root, "$") is { } invalid)
        {
            errors[invalid] = ["Not valid Unicode text: an unpaired surrogate (\\ud800 to \\udfff) is not a character."];
            return (null, errors);
        }

        var patch = new AnnotationsPatch();
        foreach (var member in root.EnumerateObject())
        {
            var value = member.Value;
            switch (member.Name)
            {
                case "title" or "description":
                    if (value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
                    {
                        errors[member.Name] = ["A string, or null to remove it."];
                    }
                    else if (member.Name == "title")
                    {
                        patch = patch with { SetTitle = true, Title = value.GetString() };
                    }
                    else
                    {
                        patch = patch with { SetDescription = true, Description = value.GetString() };
                    }

                    break;

                case "tags" or "keywords":
                    var list = Strings(member.Name, value, errors);
                    patch = member.Name == "tags" ? patch with { SetTags = true, Tags = list } : patch with { SetKeywords = true, Keywords = list };
                    break;

                case "custom":
                    if (value.ValueKind == JsonValueKind.Null)
                    {
                        patch = patch with { ClearCustom = true };
                    }
                    else if (value.ValueKind != JsonValueKind.Object)
                    {
                        errors["custom"] = ["An object of string fields (a null value removes a field), or null to remove them all."];
                    }
                    else
                    {
                        var custom = ImmutableDictionary.CreateBuilder<string, string?>(StringComparer.Ordinal);
                        foreach (var field in value.EnumerateObject())
                        {
                            if (field.Value.ValueKind is JsonValueKind.String or JsonValueKind.Null)
                            {
                                custom[field.Name] = field.Value.GetString();
                            }
                            else
                            {
                                errors[$"custom.{field.Name}"] = ["A string, or null to remove the field."];
                            }
                        }

                        patch = patch with { Custom = custom.ToImmutable() };
                    }

                    break;

                default:
                    errors[member.Name] = ["Not an editable field: title, description, tags, keywords and custom are."];
                    break;
            }
        }

        return (errors.Count == 0 ? patch : null, errors);
    }

    // The path of the first member name or string that is not valid UTF-16 (JSON escapes can spell a lone
    // surrogate, which no string may hold), or null when there is none.
    private static string? InvalidText(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                return Readable(element) ? null : path;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (InvalidText(item, $"{path}[{i++}]") is { } found)
                    {
                        return found;
                    }
                }

                return null;
            case JsonValueKind.Object:
                foreach (var member in element.EnumerateObject())
                {
                    string name;
                    try
                    {
                        name = member.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        return path;
                    }

                    if (InvalidText(member.Value, path == "$" ? name : $"{path}.{name}") is { } found)
                    {
                        return found;
                    }
                }

                return null;
            default:
                return null;
        }
    }

    private static bool Readable(JsonElement text)
    {
        try
        {
            _ = text.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static ImmutableArray<string> Strings(string name, JsonElement value, Dictionary<string, string[]> errors)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            errors[name] = ["An array of strings, or null to remove them all."];
            return [];
        }

        var items = ImmutableArray.CreateBuilder<string>();
        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.String)
            {
                items.Add(item.GetString()!);
            }
            else
            {
                errors[$"{name}[{i}]"] = ["A string."];
            }

            i++;
        }

        return items.ToImmutable();
    }
}
