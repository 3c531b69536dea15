using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Machine.Tests.Running;

/// <summary>Small guests assembled with Iced for machine tests.</summary>
internal static class GuestPrograms
{
    /// <summary>Assembles 16-bit code for a fixed origin.</summary>
    public static byte[] Assemble16(ulong origin, Action<Assembler> emit)
    {
        var a = new Assembler(16);
        emit(a);
        using var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), origin);
        return stream.ToArray();
    }

    /// <summary>Real-mode code that writes <paramref name="text"/> to the debug console port and then <paramref name="exitValue"/> to isa-debug-exit at 501h.</summary>
    public static byte[] PrintAndExit(string text, byte exitValue) => Assemble16(0x7C00, a =>
    {
        foreach (char c in text)
        {
            a.mov(al, (byte)c);
            a.@out(0xE9, al);
        }

        a.mov(dx, 0x501);
        a.mov(al, exitValue);
        a.@out(dx, al);
        a.hlt();
    });

    /// <summary>A 64 KiB firmware image: the reset vector jumps to code at F000:0000 that prints and exits.</summary>
    public static byte[] FirmwareThatPrints(string text, byte exitValue)
    {
        byte[] rom = new byte[0x10000];
        rom.AsSpan().Fill(0xFF);
        byte[] body = Assemble16(0xF0000, a =>
        {
            a.cli();
            a.xor(ax, ax);
            a.mov(ss, ax);
            a.mov(sp, 0x7000);
            foreach (char c in text)
            {
                a.mov(al, (byte)c);
                a.@out(0xE9, al);
            }

            a.mov(dx, 0x501);
            a.mov(al, exitValue);
            a.@out(dx, al);
            a.hlt();
        });
        body.CopyTo(rom, 0);
        // F000:FFF0: JMP F000:0000 (far jump, EA iw iw).
        byte[] reset = [0xEA, 0x00, 0x00, 0x00, 0xF0];
        reset.CopyTo(rom, 0xFFF0);
        return rom;
    }
}
