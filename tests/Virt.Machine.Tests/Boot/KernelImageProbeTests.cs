using Virt.Machine.Boot;
using Xunit;

namespace Virt.Machine.Tests.Boot;

public sealed class KernelImageProbeTests
{
    [Fact]
    public void BzImageIsLinux() => Assert.Equal(KernelImageFormat.LinuxBzImage, KernelImageProbe.Detect(TestImages.BzImage()));

    [Fact]
    public void ElfWithHeaderIsMultiboot() => Assert.Equal(KernelImageFormat.Multiboot, KernelImageProbe.Detect(new MemoryStream(TestImages.Elf32(0x10_0000, [new TestImages.Segment(0x10_0000, new byte[16], 16)]))));

    [Fact]
    public void LinuxWinsOverMultibootAsInQemu()
    {
        byte[] kernel = TestImages.BzImage();
        TestImages.MultibootHeader(0x3).CopyTo(kernel, 0x1000);
        Assert.Equal(KernelImageFormat.LinuxBzImage, KernelImageProbe.Detect(kernel));
    }

    [Fact]
    public void BadChecksumIsUnknown()
    {
        byte[] image = new byte[0x1000];
        TestImages.MultibootHeader(0x3, checksum: 1).CopyTo(image, 0);
        Assert.Equal(KernelImageFormat.Unknown, KernelImageProbe.Detect(image));
    }

    [Fact]
    public void StreamPositionIsRestored()
    {
        var stream = new MemoryStream(TestImages.BzImage()) { Position = 17 };
        KernelImageProbe.Detect(stream);
        Assert.Equal(17, stream.Position);
    }
}
