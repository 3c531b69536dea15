using Virt.Machine.Boot;
using Xunit;

namespace Virt.Machine.Tests.Boot;

/// <summary>
/// Parses real images when the machine happens to have them (Debian's memtest86+ and kernels under
/// /boot); tagged Acceptance so the default test run leaves them out, and passing without checks when
/// the files are absent.
/// </summary>
[Trait("Category", "Acceptance")]
public sealed class BootAcceptanceTests
{
    public static TheoryData<string> InstalledImages()
    {
        var data = new TheoryData<string> { string.Empty };
        if (Directory.Exists("/boot"))
        {
            foreach (string path in Directory.GetFiles("/boot", "vmlinuz-*").Concat(Directory.GetFiles("/boot", "memtest86+*.bin")))
            {
                data.Add(path);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(InstalledImages))]
    public void InstalledBzImageHeaderParses(string path)
    {
        if (path.Length == 0)
        {
            return; // keeps the theory non-empty on machines without any image
        }

        byte[] image = File.ReadAllBytes(path);
        Assert.Equal(KernelImageFormat.LinuxBzImage, KernelImageProbe.Detect(image));
        LinuxSetupHeader header = LinuxSetupHeader.Parse(image, Path.GetFileName(path));
        Assert.True(header.Version >= LinuxSetupHeader.MinimumVersion);
        Assert.True(header.LoadedHigh);
        Assert.True(header.ProtectedModeOffset < image.Length);

        var memory = new SparseGuestMemory();
        LinuxLoadResult result = LinuxBootLoader.Load(memory, new MemoryStream(image), Path.GetFileName(path), new LinuxBootOptions
        {
            MemoryMap = E820Map.CreatePc(256UL * 1024 * 1024),
            CommandLine = "console=ttyS0",
        });
        Assert.Equal(0x10_0000u, result.Entry.Eip);
    }
}
