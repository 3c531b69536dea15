namespace Virt.Devices.Tests.Backends.Block;

/// <summary>A folder under the system's temporary folder, deleted with everything in it on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        DirectoryPath = Path.Combine(Path.GetTempPath(), "virt-block-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(DirectoryPath);
    }

    public string DirectoryPath { get; }

    public string File(string name) => Path.Combine(DirectoryPath, name);

    /// <summary>Writes a file of deterministic pseudo-random bytes.</summary>
    public string RandomFile(string name, int length, int seed)
    {
        string path = File(name);
        System.IO.File.WriteAllBytes(path, RandomBytes(length, seed));
        return path;
    }

    public static byte[] RandomBytes(int length, int seed)
    {
        byte[] bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static string Sha256(string path) => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.IO.File.ReadAllBytes(path)));

    public void Dispose()
    {
        try
        {
            Directory.Delete(DirectoryPath, recursive: true);
        }
        catch (IOException)
        {
            // A file still open on another handle; the temporary folder is cleaned by the system.
        }
    }
}
