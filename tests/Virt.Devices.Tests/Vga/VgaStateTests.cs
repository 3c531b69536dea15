using FsCheck.Xunit;
using Virt.Memory;
using Xunit;

namespace Virt.Devices.Tests.Vga;

/// <summary>Save, restore and save again gives an equal record, whatever the guest did through every port and window.</summary>
public sealed class VgaStateTests
{
    private static readonly ushort[] s_ports =
        [0x3C0, 0x3C1, 0x3C4, 0x3C5, 0x3C6, 0x3C7, 0x3C8, 0x3C9, 0x3CE, 0x3CF, 0x3D4, 0x3D5, 0x3DA, 0x3C2, 0x1CE, 0x1CF];

    [Property(MaxTest = 40)]
    public void State_RoundTripsAfterGraphicsAndVbeTraffic(byte[] program)
    {
        var bench = new VgaTestBench(new VgaOptions { VideoMemorySizeInBytes = 1 << 20 });
        for (int i = 0; i + 3 < program.Length; i += 4)
        {
            ushort port = s_ports[program[i] % s_ports.Length];
            switch (program[i + 3] % 6)
            {
                case 0:
                    bench.In(port);
                    break;
                case 1 when port >= 0x1CE && port <= 0x1CF:
                    bench.OutWord(port, (ushort)(program[i + 1] | (program[i + 2] << 8)));
                    break;
                case 1:
                    bench.Out(port, program[i + 1]);
                    break;
                case 2:
                    bench.Poke((uint)(0xA0000 + ((program[i + 1] << 9) | program[i + 2])), program[i]);
                    break;
                case 3:
                    bench.Peek((uint)(0xA0000 + ((program[i + 1] << 9) | program[i + 2])));
                    break;
                case 4:
                    bench.Vga.LinearFramebuffer.Write(new RegionOffset((ulong)((program[i + 1] << 12) | program[i + 2])), 4, program[i] * 0x01010101UL);
                    break;
                default:
                    bench.Vga.Render();
                    break;
            }
        }

        VgaState saved = bench.Vga.SaveState();
        var restored = new VgaAdapter(new VgaOptions { VideoMemorySizeInBytes = 1 << 20 });
        restored.RestoreState(saved);
        Assert.Equal(saved, restored.SaveState());
        Assert.Equal(bench.Vga.Render().Pixels, restored.Render().Pixels);
    }

    [Fact]
    public void RestoreState_RefusesAnotherVideoMemorySize()
    {
        VgaState saved = new VgaAdapter(new VgaOptions { VideoMemorySizeInBytes = 1 << 20 }).SaveState();
        Assert.Throws<ArgumentException>(() => new VgaAdapter().RestoreState(saved));
    }

    [Fact]
    public void Options_RefuseAVideoMemoryThatIsNotAPowerOfTwo()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new VgaAdapter(new VgaOptions { VideoMemorySizeInBytes = 3 << 20 }));
    }
}
