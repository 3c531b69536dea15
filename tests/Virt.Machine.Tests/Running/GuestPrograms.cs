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

    /// <summary>Assembles 32-bit code for a fixed origin.</summary>
    public static byte[] Assemble32(ulong origin, Action<Assembler> emit)
    {
        var a = new Assembler(32);
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

    /// <summary>Initialises both 8259As as a PC BIOS does (vectors 08h and 70h, slave on IRQ2) with the given masks.</summary>
    public static void InitializePics(Assembler a, byte masterMask, byte slaveMask)
    {
        foreach ((byte port, byte value) in new (byte, byte)[] { (0x20, 0x11), (0x21, 0x08), (0x21, 0x04), (0x21, 0x01), (0xA0, 0x11), (0xA1, 0x70), (0xA1, 0x02), (0xA1, 0x01), (0x21, masterMask), (0xA1, slaveMask) })
        {
            a.mov(al, value);
            a.@out(port, al);
        }
    }

    /// <summary>
    /// Halts with interrupts enabled until an interrupt handler has counted BX up to <paramref name="count"/>, then
    /// writes BL to isa-debug-exit at 501h and halts for good.
    /// </summary>
    public static void HaltUntilBxReachesThenExit(Assembler a, ushort count)
    {
        Label wait = a.CreateLabel();
        a.Label(ref wait);
        a.hlt();
        a.cmp(bx, count);
        a.jb(wait);
        a.cli();
        a.mov(dx, 0x501);
        a.mov(al, bl);
        a.@out(dx, al);
        a.hlt();
    }

    /// <summary>A 512-byte image for 0000:7C00 with <paramref name="code"/> first and an interrupt handler at 7D00h.</summary>
    public static byte[] WithHandlerAt100h(byte[] code, byte[] handler)
    {
        byte[] image = new byte[0x200];
        code.CopyTo(image, 0);
        handler.CopyTo(image, 0x100);
        return image;
    }

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
