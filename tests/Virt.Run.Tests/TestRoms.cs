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
}
