using System.Buffers.Binary;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Run.Tests;

/// <summary>Multiboot kernels built with Iced, bootable by both Virt.Run and QEMU through -kernel.</summary>
internal static class TestKernels
{
    private const uint LoadAddress = 0x100000;
    private const int CodeOffset = 0x40;

    /// <summary>
    /// A Multiboot v1 kernel in the a.out-kludge form (header flag 16: the header gives the load and entry addresses, so
    /// no ELF is needed). In flat 32-bit protected mode it checks the boot loader's magic in EAX, prints the info
    /// structure's flags, mem_lower and mem_upper in hex and the command line to the debug console, then writes
    /// <paramref name="exitValue"/> to isa-debug-exit (or 1 when the magic is wrong).
    /// </summary>
    public static byte[] Multiboot(byte exitValue)
    {
        var a = new Assembler(32);
        Label bad = a.CreateLabel();
        Label printHex = a.CreateLabel();
        Label cmdLoop = a.CreateLabel();
        Label cmdDone = a.CreateLabel();

        a.cmp(eax, 0x2BADB002);
        a.jne(bad);
        a.mov(esp, 0x90000);
        a.mov(esi, ebx);
        a.mov(eax, __dword_ptr[esi]);        // flags
        a.call(printHex);
        a.mov(eax, __dword_ptr[esi + 4]);    // mem_lower (KiB)
        a.call(printHex);
        a.mov(eax, __dword_ptr[esi + 8]);    // mem_upper (KiB above 1 MiB)
        a.call(printHex);
        a.mov(edi, __dword_ptr[esi + 16]);   // cmdline
        a.Label(ref cmdLoop);
        a.mov(al, __byte_ptr[edi]);
        a.test(al, al);
        a.jz(cmdDone);
        a.@out(0xE9, al);
        a.inc(edi);
        a.jmp(cmdLoop);
        a.Label(ref cmdDone);
        a.mov(al, (byte)'\n');
        a.@out(0xE9, al);
        a.mov(dx, 0x501);
        a.mov(al, exitValue);
        a.@out(dx, al);
        a.cli();
        a.hlt();

        a.Label(ref bad);
        a.mov(dx, 0x501);
        a.mov(al, 1);
        a.@out(dx, al);
        a.cli();
        a.hlt();

        DebugconCode.EmitPrintHex(a, printHex, ' ');

        using var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), LoadAddress + CodeOffset);
        byte[] code = stream.ToArray();

        byte[] image = new byte[CodeOffset + code.Length];
        Span<byte> h = image;
        const uint flags = 0x0001_0003; // page-align modules, want memory info, address fields valid
        BinaryPrimitives.WriteUInt32LittleEndian(h, 0x1BADB002);
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], flags);
        BinaryPrimitives.WriteUInt32LittleEndian(h[8..], unchecked(0u - 0x1BADB002u - flags));
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], LoadAddress);                      // header_addr
        BinaryPrimitives.WriteUInt32LittleEndian(h[16..], LoadAddress);                      // load_addr
        BinaryPrimitives.WriteUInt32LittleEndian(h[20..], LoadAddress + (uint)image.Length); // load_end_addr
        BinaryPrimitives.WriteUInt32LittleEndian(h[24..], LoadAddress + (uint)image.Length); // bss_end_addr
        BinaryPrimitives.WriteUInt32LittleEndian(h[28..], LoadAddress + CodeOffset);         // entry_addr
        code.CopyTo(image, CodeOffset);
        return image;
    }
}
