using Virt.Machine.Boot;
using Virt.Machine.Tests.Running;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Machine.Tests;

/// <summary><see cref="Machine.CaptureTextScreen"/>: the rows of the VGA text buffer as the adapter shows them.</summary>
public sealed class MachineDisplayTests
{
    private const ushort TextSegment = 0xB800;
    private const int Columns = 80;
    private const int Rows = 25;

    /// <summary>Character and attribute words (white on blue) the guest stores: the character is the low byte.</summary>
    private const byte Attribute = 0x1F;

    private static Machine BuildWriter(IReadOnlyList<(int Row, int Column, string Text)> writes, VgaKind vga = VgaKind.Isa)
    {
        byte[] code = GuestPrograms.Assemble16(0x7C00, a =>
        {
            a.mov(ax, TextSegment);
            a.mov(ds, ax);
            foreach ((int row, int column, string text) in writes)
            {
                for (int i = 0; i < text.Length; i++)
                {
                    a.mov(__word_ptr[((row * Columns) + column + i) * 2], (ushort)((Attribute << 8) | text[i]));
                }
            }

            a.cli();
            a.hlt();
        });
        return new MachineBuilder()
            .WithMemorySize(1UL << 20)
            .WithVga(vga)
            .WithFlatBinary(code, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "text writer"))
            .Build();
    }

    [Fact]
    public void TheRowsAreTheCharactersAtB8000_TrimmedAndTopFirst()
    {
        using Machine machine = BuildWriter([(0, 0, "Errors: 0"), (12, 40, "middle"), (Rows - 1, Columns - 4, "last")]);
        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: 100_000).Kind);

        string[] screen = machine.CaptureTextScreen()!;
        Assert.Equal(Rows, screen.Length);
        Assert.Equal("Errors: 0", screen[0]);
        Assert.Equal(new string(' ', 40) + "middle", screen[12]);
        Assert.Equal(new string(' ', Columns - 4) + "last", screen[Rows - 1]);
        Assert.All(screen.Where((_, i) => i is not (0 or 12 or Rows - 1)), line => Assert.Equal(string.Empty, line));
    }

    [Fact]
    public void WithoutADisplayAdapterThereIsNoTextScreen()
    {
        using Machine machine = BuildWriter([(0, 0, "x")], VgaKind.None);
        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: 100_000).Kind);
        Assert.Null(machine.CaptureTextScreen());
    }
}
