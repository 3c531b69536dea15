using System.Buffers.Binary;
using System.Diagnostics;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Run.Tests.Acceptance;

/// <summary>gdb against a 64-bit kernel: the x86-64 description, 64-bit registers, XMM, a breakpoint on a symbol, step, watchpoint, a variable set, detach.</summary>
public sealed partial class GdbAcceptanceTests
{
    private const uint LongCodeOffset = 0x400;
    private const uint LongCodeAddress = LoadAddress + LongCodeOffset;
    private const uint GdtOffset = 0x200;
    private const uint LongDataOffset = 0x800;
    private const uint GoAddress = LoadAddress + LongDataOffset;
    private const uint CounterAddress = GoAddress + 8;
    private const uint LongValueAddress = GoAddress + 16;
    private const int LongDataSize = 24;
    private const ulong InitialCounter = 41;
    private const ulong RaxAtCall = 0x1122_3344_5566_7788;
    private const ulong R8AtCall = 0x0123_4567_89AB_CDEF;
    private const ulong PiDouble = 0x4009_21FB_5444_2D18;
    private const uint PageTables = 0x8_0000;

    [Fact]
    public async Task GdbDebugsA64BitKernelBySymbol()
    {
        (byte[] kernel, byte[] elf, uint compute, uint afterLoad) = BuildLongModeKernel();

        // No -S: the kernel reaches long mode and waits for 'go', so gdb connects to a CPU in long mode and gets x86-64.
        GdbSession session = await RunGdbSessionAsync(
            kernel,
            [
                "break compute",
                "set var *(int*)&go = 1",
                "continue",
                "info registers rip rax r8",
                "p $xmm0",
                "stepi",
                "info registers rip rcx",
                "watch *(long*)&counter",
                "continue",
                "delete",
                "set var *(long*)&value = 0x2a",
                "detach",
            ],
            symbolFile: elf,
            waitForAttach: false);

        string gdbOut = session.GdbOut;
        Assert.True(gdbOut.Contains($"Breakpoint 1, 0x{compute:x16} in compute ()", StringComparison.Ordinal), session.Transcript);
        Assert.Matches($@"rip\s+0x{compute:x}\s+0x{compute:x} <compute>", gdbOut);
        Assert.Matches($@"rax\s+0x{RaxAtCall:x}\s", gdbOut);
        Assert.Matches($@"r8\s+0x{R8AtCall:x}\s", gdbOut);
        Assert.True(gdbOut.Contains("v2_double = {3.1415926535897931, 0}", StringComparison.Ordinal), session.Transcript);
        Assert.Matches($@"rip\s+0x{afterLoad:x}\s+0x{afterLoad:x} <compute\+{afterLoad - compute}>", gdbOut); // stepped over the load
        Assert.Matches($@"rcx\s+0x{InitialCounter:x}\s", gdbOut);                   // ... which read the counter
        Assert.True(gdbOut.Contains("Hardware watchpoint 2: *(long*)&counter", StringComparison.Ordinal), session.Transcript);
        Assert.True(gdbOut.Contains($"Old value = {InitialCounter}", StringComparison.Ordinal), session.Transcript);
        Assert.True(gdbOut.Contains($"New value = {InitialCounter + 1}", StringComparison.Ordinal), session.Transcript);

        // After detach the kernel prints the value gdb set and exits through isa-debug-exit with 0.
        Assert.True(session.VirtOut.Contains("0000002A", StringComparison.Ordinal), session.Transcript);
        Assert.True(session.VirtExit == 1, session.Transcript);
    }

    /// <summary>
    /// A Multiboot kernel (a.out kludge) that enters long mode from its 32-bit entry (Intel SDM Vol. 3A, 10.8.5: PAE,
    /// 4-level tables identity-mapping the first 2 MiB with one large page, EFER.LME, CR0.PG, a far jump to a 64-bit code
    /// segment), waits until [go] is non-zero, calls compute (counter += 1) with known RAX, R8 and XMM0, prints [value] in hex
    /// to port E9h and exits with 0. Returns the image, an ELF with its symbols, compute's address and that of its second instruction.
    /// </summary>
    private static (byte[] Image, byte[] Elf, uint Compute, uint AfterLoad) BuildLongModeKernel()
    {
        var a32 = new Assembler(32);
        a32.mov(esp, 0x90000);
        a32.mov(__dword_ptr[PageTables], PageTables + 0x1003);
        a32.mov(__dword_ptr[PageTables + 0x1000], PageTables + 0x2003);
        a32.mov(__dword_ptr[PageTables + 0x2000], 0x83);   // 2 MiB page at 0, present, writable
        a32.mov(eax, cr4);
        a32.or(eax, 0x20 | 0x200);                           // PAE, OSFXSR
        a32.mov(cr4, eax);
        a32.mov(eax, PageTables);
        a32.mov(cr3, eax);
        a32.mov(ecx, 0xC000_0080);                           // IA32_EFER
        a32.rdmsr();
        a32.or(eax, 0x100);                                  // LME
        a32.wrmsr();
        a32.mov(eax, cr0);
        a32.or(eax, unchecked((int)0x8000_0001));
        a32.mov(cr0, eax);
        a32.lgdt(__[LoadAddress + GdtOffset + 24]);
        a32.push(0x08);
        a32.push(unchecked((int)LongCodeAddress));
        a32.retf();
        byte[] code32 = Assemble(a32, LoadAddress + CodeOffset, out _);

        var a = new Assembler(64);
        Label wait = a.CreateLabel();
        Label compute = a.CreateLabel();
        Label printHex = a.CreateLabel();
        Label afterLoad = a.CreateLabel();
        a.mov(ax, 0x10);
        a.mov(ds, ax);
        a.mov(es, ax);
        a.mov(ss, ax);
        a.Label(ref wait);
        a.pause();
        a.cmp(__dword_ptr[GoAddress], 0);
        a.je(wait);
        a.mov(rax, (long)PiDouble);
        a.movq(xmm0, rax);
        a.mov(rax, (long)RaxAtCall);
        a.mov(r8, (long)R8AtCall);
        a.call(compute);
        a.mov(eax, __dword_ptr[LongValueAddress]);
        a.call(printHex);
        a.mov(dx, 0x501);
        a.mov(al, 0);
        a.@out(dx, al);
        a.cli();
        a.hlt();
        a.Label(ref compute);
        a.mov(rcx, __qword_ptr[CounterAddress]);
        a.Label(ref afterLoad);
        a.inc(rcx);
        a.mov(__qword_ptr[CounterAddress], rcx);
        a.ret();
        DebugconCode.EmitPrintHex(a, printHex, '\n');
        byte[] code64 = Assemble(a, LongCodeAddress, out AssemblerResult result);
        uint computeAddress = (uint)result.GetLabelRIP(compute);
        uint afterLoadAddress = (uint)result.GetLabelRIP(afterLoad);
        Debug.Assert(LongCodeOffset + code64.Length <= LongDataOffset, "the 64-bit code must end before the data");

        byte[] image = new byte[LongDataOffset + LongDataSize];
        Span<byte> h = image;
        const uint flags = 0x0001_0003;
        BinaryPrimitives.WriteUInt32LittleEndian(h, 0x1BADB002);
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], flags);
        BinaryPrimitives.WriteUInt32LittleEndian(h[8..], unchecked(0u - 0x1BADB002u - flags));
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], LoadAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(h[16..], LoadAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(h[20..], LoadAddress + (uint)image.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(h[24..], LoadAddress + (uint)image.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(h[28..], LoadAddress + CodeOffset);
        code32.CopyTo(image, CodeOffset);

        // GDT: null, 64-bit code (L=1, DPL 0), flat data; then the LGDT operand (limit, base).
        BinaryPrimitives.WriteUInt64LittleEndian(h[((int)GdtOffset + 8)..], 0x00AF_9A00_0000_FFFF);
        BinaryPrimitives.WriteUInt64LittleEndian(h[((int)GdtOffset + 16)..], 0x00CF_9200_0000_FFFF);
        BinaryPrimitives.WriteUInt16LittleEndian(h[((int)GdtOffset + 24)..], 23);
        BinaryPrimitives.WriteUInt32LittleEndian(h[((int)GdtOffset + 26)..], LoadAddress + GdtOffset);
        code64.CopyTo(image, LongCodeOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(h[((int)LongDataOffset + 8)..], InitialCounter);
        BinaryPrimitives.WriteUInt64LittleEndian(h[((int)LongDataOffset + 16)..], InitialValue);

        byte[] elf = ElfSymbolFile.Build(
            LoadAddress + CodeOffset,
            LongCodeAddress,
            code64,
            GoAddress,
            image[(int)LongDataOffset..],
            [
                ("long_entry", LongCodeAddress, 0),
                ("compute", computeAddress, 0),
                ("go", GoAddress, 4),
                ("counter", CounterAddress, 8),
                ("value", LongValueAddress, 8),
            ]);
        return (image, elf, computeAddress, afterLoadAddress);
    }

    private static byte[] Assemble(Assembler a, ulong address, out AssemblerResult result)
    {
        using var stream = new MemoryStream();
        result = a.Assemble(new StreamCodeWriter(stream), address, BlockEncoderOptions.ReturnNewInstructionOffsets);
        return stream.ToArray();
    }
}
