namespace MediaService.ApiFrontend.Access;

/// <summary>
/// What signers and checkers of ids and links need of the service's secrets (<see cref="ServiceSecrets"/> in production):
/// a secret by name, and the one already read without waiting. The in-process tests give fixed secrets.
/// </summary>
public interface ISecretSource
{
    /// <summary>The secret called <paramref name="name"/>; <see cref="Grains.Interfaces.MediaException"/> (unavailable)
    /// when it could not be read in time.</summary>
    Task<byte[]> GetAsync(string name);

    /// <summary>The secret if it was read already, without waiting; null before that.</summary>
    byte[]? Peek(string name);
}
