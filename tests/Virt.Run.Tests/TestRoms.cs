using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Run.Tests;

/// <summary>Bare-metal firmware images built with Iced, runnable by both Virt.Run and QEMU through -bios.</summary>
internal static class TestRoms
{
    /// <summary>
    /// A 64 KiB ROM: from the reset vector it sets up a stack in RAM, prints a greeting to the debug console,
    /// computes 12! with 32-bit multiplies and a string checksum with string instructions, prints both in hex, then
    /// writes <paramref name="exitValue"/> to isa-debug-exit at 501h.
    /// </summary>
    public static byte[] Arithmetic(byte exitValue)
    {
        var a = new Assembler(16);
        Label printHex = a.CreateLabel();
        Label fact = a.CreateLabel();
        Label sum = a.CreateLabel();
        Label message = a.CreateLabel();
        Label printString = a.CreateLabel();
        Label printDone = a.CreateLabel();

        a.cli();
        a.xor(ax, ax);
        a.mov(ss, ax);
        a.mov(sp, 0x7000);
        a.mov(ax, 0xF000);
        a.mov(ds, ax);
        a.mov(si, 0); // patched below: message offset
        a.call(printString);

        // 12! in EAX.
        a.mov(eax, 1);
        a.mov(ecx, 12);
        a.Label(ref fact);
        a.mul(ecx);
        a.dec(ecx);
        a.jnz(fact);
        a.call(printHex);

        // Sum of the message bytes with LODSB.
        a.mov(si, 0); // patched below
        a.xor(ebx, ebx);
        a.mov(cx, 16);
        a.cld();
        a.Label(ref sum);
        a.lodsb();
        a.movzx(eax, al);
        a.add(ebx, eax);
        a.loop(sum);
        a.mov(eax, ebx);
        a.call(printHex);

        a.mov(dx, 0x501);
        a.mov(al, exitValue);
        a.@out(dx, al);
        a.cli();
        a.hlt();

        // printString: DS:SI zero-terminated.
        a.Label(ref printString);
        a.lodsb();
        a.test(al, al);
        a.jz(printDone);
        a.@out(0xE9, al);
        a.jmp(printString);
        a.Label(ref printDone);
        a.ret();

        DebugconCode.EmitPrintHex(a, printHex, '\n');

        a.Label(ref message);
        a.db("Hello from ROM\n\0"u8.ToArray());

        using var stream = new MemoryStream();
        AssemblerResult result = (AssemblerResult)a.Assemble(new StreamCodeWriter(stream), 0xF0000, BlockEncoderOptions.ReturnNewInstructionOffsets);
        byte[] code = stream.ToArray();
        ushort messageOffset = (ushort)(result.GetLabelRIP(message) - 0xF0000);

        // Patch both "mov si, 0" (BE 00 00) with the message offset.
        int patched = 0;
        for (int i = 0; i + 2 < code.Length && patched < 2; i++)
        {
            if (code[i] == 0xBE && code[i + 1] == 0 && code[i + 2] == 0)
            {
                BitConverter.GetBytes(messageOffset).CopyTo(code, i + 1);
                patched++;
            }
        }

        byte[] rom = new byte[0x10000];
        rom.AsSpan().Fill(0xFF);
        code.CopyTo(rom, 0);
        byte[] reset = [0xEA, 0x00, 0x00, 0x00, 0xF0]; // F000:FFF0: JMP F000:0000
        reset.CopyTo(rom, 0xFFF0);
        return rom;
    }

    /// <summary>
    /// A 64 KiB ROM running <paramref name="emit"/>'s 16-bit code at F000:0000, reached from the reset vector. DS is 0 as
    /// after reset, so <c>[0600h]</c> is zeroed RAM.
    /// </summary>
    public static byte[] Rom(Action<Assembler> emit)
    {
        var a = new Assembler(16);
        emit(a);
        using var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), 0xF0000);
        byte[] rom = new byte[0x10000];
        rom.AsSpan().Fill(0xFF);
        stream.ToArray().CopyTo(rom, 0);
        byte[] reset = [0xEA, 0x00, 0x00, 0x00, 0xF0]; // F000:FFF0: JMP F000:0000
        reset.CopyTo(rom, 0xFFF0);
        return rom;
    }

    /// <summary>
    /// Writes 80h to the POST port, loads an IDT limit of zero (the descriptor at 0600h is zeroed RAM) and executes UD2
    /// at F000:0009: #UD lies beyond the IVT, which is #GP, so #DF, which lies beyond it too: a triple fault.
    /// </summary>
    public static byte[] TripleFault() => Rom(a =>
    {
        a.mov(al, 0x80);
        a.@out(0x80, al);
        a.lidt(__[0x600]);
        a.ud2();
    });

    /// <summary>The address of the UD2 in <see cref="TripleFault"/>: after MOV AL (2 bytes), OUT (2) and LIDT (5).</summary>
    public const ushort TripleFaultUd2Offset = 9;

    /// <summary>Asks the 8042 keyboard controller for a CPU reset (OUT 64h, FEh).</summary>
    public static byte[] KeyboardReset() => Rom(a =>
    {
        a.mov(al, 0xFE);
        a.@out(0x64, al);
        a.cli();
        a.hlt();
    });

    /// <summary>Halts with interrupts disabled: done for good.</summary>
    public static byte[] HaltForGood() => Rom(a =>
    {
        a.cli();
        a.hlt();
    });

    /// <summary>Writes <paramref name="value"/> to isa-debug-exit at 501h.</summary>
    public static byte[] DebugExit(byte value) => Rom(a =>
    {
        a.mov(dx, 0x501);
        a.mov(al, value);
        a.@out(dx, al);
        a.cli();
        a.hlt();
    });

    /// <summary>
    /// Powers off through ACPI as a guest of QEMU's <c>pc</c> machine does: places the PIIX4 PM block (00:01.3) at 600h,
    /// enables it, and writes SLP_TYP 0 (QEMU's <c>_S5</c>) with SLP_EN to PM1a_CNT; then spins, so a board without
    /// the PIIX4 runs into the caller's limit.
    /// </summary>
    public static byte[] AcpiPowerOff() => Rom(a =>
    {
        Label spin = a.CreateLabel();
        foreach ((uint register, uint value) in new (uint, uint)[] { (0x40, 0x600), (0x80, 0x01) })
        {
            a.mov(dx, 0xCF8);
            a.mov(eax, 0x8000_0B00u | register); // bus 0, device 1, function 3
            a.@out(dx, eax);
            a.mov(dx, 0xCFC);
            a.mov(eax, value);
            a.@out(dx, eax);
        }

        a.mov(dx, 0x604);
        a.mov(ax, 0x2000);
        a.@out(dx, ax);
        a.Label(ref spin);
        a.jmp(spin);
    });

    /// <summary>Spins forever (JMP $).</summary>
    public static byte[] Spin() => Rom(a =>
    {
        Label self = a.CreateLabel();
        a.Label(ref self);
        a.jmp(self);
    });

    /// <summary>Writes '!' to the debug console at E9h, then spins forever: a guest that only the host can stop.</summary>
    public static byte[] SignalThenSpin() => Rom(a =>
    {
        Label self = a.CreateLabel();
        a.mov(al, (byte)'!');
        a.@out(0xE9, al);
        a.Label(ref self);
        a.jmp(self);
    });
}
