using System.Buffers.Binary;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Run.Tests;

/// <summary>
/// A Multiboot kernel that drives QEMU's educational PCI card (<c>-device edu</c>) as a driver would, bootable by
/// Virt.Run and QEMU alike through <c>-kernel</c>: it finds the card on bus 0, places BAR0, checks the identification and
/// liveness registers, computes a factorial by polling, moves a buffer through the card's DMA engine into and out of
/// the card, takes the card's interrupts through its PIRQ link and the ISA IRQ firmware routed it to on the I/O APIC
/// (DMA completion, factorial, raise register) and then through MSI. It prints each finding to the debug console (port E9h) as eight hex digits and a
/// space, in the order of <see cref="Fields"/>, then writes 0 to isa-debug-exit (1 when no card was found).
/// </summary>
internal static class EduKernel
{
    /// <summary>What the kernel prints, in order.</summary>
    public static readonly string[] Fields =
    [
        "slot",              // the card's device number on bus 0
        "ide-command",       // 00:01.1's command register, I/O space and bus master bits only (as firmware left them)
        "bar0",              // BAR0 after the kernel placed it at BarAddress
        "interrupt-pin",     // the card's interrupt pin register (1 = INTA#)
        "identification",    // BAR0+00h
        "liveness",          // BAR0+04h after writing LivenessProbe
        "factorial",         // BAR0+08h after writing FactorialInput and polling the status
        "io-apic-pin",       // the I/O APIC pin the card's INTx# reaches: the ISA IRQ firmware routed its PIRQ link to (interrupt line)
        "dma-irq-status",    // the interrupt status the handler saw after the DMA to RAM
        "dma-command",       // the DMA command register after the transfer
        "dma-mismatch",      // bytes left when comparing the RAM copied out of the card with the pattern sent in (0: equal)
        "fact-irq-status",   // the interrupt statuses the handler saw, ORed, after the factorial with interrupt
        "fact-irq-result",   // FactorialInterruptInput!
        "raise-irq-status",  // the same after writing RaiseValue to the raise register
        "status-after-ack",  // BAR0+24h once the handler acknowledged everything
        "intx-count",        // interrupts taken through the I/O APIC
        "msi-status",        // the interrupt status the MSI handler saw after raising MsiRaiseValue with MSI on
        "msi-count",         // interrupts taken through MSI
        "intx-after-msi",    // interrupts taken through the I/O APIC by then (no more than before)
    ];

    public const uint BarAddress = 0xE000_0000;
    public const uint LivenessProbe = 0x1234_5678;
    public const uint FactorialInput = 10;
    public const uint FactorialInterruptInput = 5;
    public const uint RaiseValue = 0x0001_0000;
    public const uint MsiRaiseValue = 0x20;
    public const uint DmaLength = 64;
    public const uint DmaSource = 0x20_0000;
    public const uint DmaDestination = 0x20_1000;
    public const uint PatternSeed = 0x5A;

    private const uint LoadAddress = 0x100000;
    private const int CodeOffset = 0x40;
    private const uint IdtAddress = 0x11_0000;
    private const uint GdtAddress = 0x11_8000;
    private const uint GdtrAddress = 0x11_8100;
    private const uint IntxSeen = 0x12_0000;
    private const uint IntxCount = IntxSeen + 4;
    private const uint MsiSeen = IntxSeen + 8;
    private const uint MsiCount = IntxSeen + 12;
    private const byte IntxVector = 0x40;
    private const byte MsiVector = 0x41;
    private const uint LocalApicBase = 0xFEE0_0000;
    private const uint IoApicBase = 0xFEC0_0000;
    private const uint EduVendorDevice = 0x11E8_1234;

    public static byte[] Build()
    {
        // Two passes: the first finds where the labels land, the second puts those addresses in MOV EAX, imm32
        // instructions (always 5 bytes, so nothing moves), as 32-bit code has no EIP-relative LEA.
        (byte[] _, uint[] addresses) = Assemble(new uint[3]);
        (byte[] image, uint[] check) = Assemble(addresses);
        if (!check.AsSpan().SequenceEqual(addresses))
        {
            throw new InvalidOperationException("The edu kernel's labels moved between its two passes.");
        }

        return image;
    }

    private static (byte[] Image, uint[] LabelAddresses) Assemble(uint[] labelAddresses)
    {
        var a = new Assembler(32);
        Label printHex = a.CreateLabel();
        Label configRead = a.CreateLabel();
        Label configWrite = a.CreateLabel();
        Label reload = a.CreateLabel();
        Label intxHandler = a.CreateLabel();
        Label msiHandler = a.CreateLabel();
        Label notFound = a.CreateLabel();
        Label exit = a.CreateLabel();

        // Our own GDT (the boot loader's may be anywhere): flat code 08h, flat data 10h; reload CS through RETF.
        a.cli();
        a.mov(__dword_ptr[GdtAddress], 0);
        a.mov(__dword_ptr[GdtAddress + 4], 0);
        a.mov(__dword_ptr[GdtAddress + 8], 0x0000_FFFF);
        a.mov(__dword_ptr[GdtAddress + 12], 0x00CF_9A00);
        a.mov(__dword_ptr[GdtAddress + 16], 0x0000_FFFF);
        a.mov(__dword_ptr[GdtAddress + 20], 0x00CF_9200);
        a.mov(__word_ptr[GdtrAddress], 23);
        a.mov(__dword_ptr[GdtrAddress + 2], GdtAddress);
        a.lgdt(__fword_ptr[GdtrAddress]);
        a.push(0x08);
        a.mov(eax, labelAddresses[0]);   // reload
        a.push(eax);
        a.retf();
        a.Label(ref reload);
        a.mov(eax, 0x10);
        a.mov(ds, ax);
        a.mov(es, ax);
        a.mov(ss, ax);
        a.mov(fs, ax);
        a.mov(gs, ax);
        a.mov(esp, 0x9_0000);
        a.mov(al, 0xFF);
        a.@out(0x21, al);           // the 8259s masked: only the card interrupts
        a.@out(0xA1, al);
        a.xor(eax, eax);
        a.mov(__dword_ptr[IntxSeen], eax);
        a.mov(__dword_ptr[IntxCount], eax);
        a.mov(__dword_ptr[MsiSeen], eax);
        a.mov(__dword_ptr[MsiCount], eax);

        // Find the card: device numbers 0-31 of bus 0, function 0.
        a.xor(esi, esi);
        Label scan = a.CreateLabel();
        Label found = a.CreateLabel();
        a.Label(ref scan);
        a.mov(eax, esi);
        a.shl(eax, 11);
        a.or(eax, 0x8000_0000);
        a.call(configRead);
        a.cmp(eax, EduVendorDevice);
        a.je(found);
        a.inc(esi);
        a.cmp(esi, 32);
        a.jb(scan);
        a.jmp(notFound);
        a.Label(ref found);
        a.mov(ebx, esi);
        a.shl(ebx, 11);
        a.or(ebx, 0x8000_0000);     // EBX: the card's configuration address, register 0
        a.mov(eax, esi);
        a.call(printHex);           // slot

        a.mov(eax, 0x8000_0904);    // 00:01.1 command
        a.call(configRead);
        a.and(eax, 0x5);
        a.call(printHex);           // ide-command

        a.lea(eax, __[ebx + 0x10]);
        a.mov(ecx, BarAddress);
        a.call(configWrite);
        a.lea(eax, __[ebx + 0x10]);
        a.call(configRead);
        a.call(printHex);           // bar0
        a.lea(eax, __[ebx + 0x04]);
        a.mov(ecx, 0x0006);         // memory space, bus master
        a.call(configWrite);
        a.lea(eax, __[ebx + 0x3C]);
        a.call(configRead);
        a.shr(eax, 8);
        a.movzx(eax, al);
        a.mov(edi, eax);            // EDI: the interrupt pin, 1-4
        a.call(printHex);           // interrupt-pin

        a.mov(eax, __dword_ptr[BarAddress + 0x00]);
        a.call(printHex);           // identification
        a.mov(__dword_ptr[BarAddress + 0x04], LivenessProbe);
        a.mov(eax, __dword_ptr[BarAddress + 0x04]);
        a.call(printHex);           // liveness
        a.mov(__dword_ptr[BarAddress + 0x08], FactorialInput);
        Label factorialPoll = a.CreateLabel();
        a.Label(ref factorialPoll);
        a.test(__dword_ptr[BarAddress + 0x20], 1);
        a.jnz(factorialPoll);
        a.mov(eax, __dword_ptr[BarAddress + 0x08]);
        a.call(printHex);           // factorial

        // The pattern into the card's buffer by DMA, polling for completion.
        a.xor(ecx, ecx);
        Label fill = a.CreateLabel();
        a.Label(ref fill);
        a.mov(eax, ecx);
        a.imul(eax, eax, 7);
        a.xor(eax, PatternSeed);
        a.mov(__byte_ptr[ecx + DmaSource], al);
        a.inc(ecx);
        a.cmp(ecx, DmaLength);
        a.jb(fill);
        a.mov(__dword_ptr[BarAddress + 0x80], DmaSource);
        a.mov(__dword_ptr[BarAddress + 0x88], 0x4_0000);
        a.mov(__dword_ptr[BarAddress + 0x90], DmaLength);
        a.mov(__dword_ptr[BarAddress + 0x98], 1);
        Label dmaPoll = a.CreateLabel();
        a.Label(ref dmaPoll);
        a.test(__dword_ptr[BarAddress + 0x98], 1);
        a.jnz(dmaPoll);

        // Interrupts: the IDT, the local APIC on, and the I/O APIC pin of the ISA IRQ that firmware routed the card's PIRQ
        // link to (the interrupt line register): on the i440FX/PIIX3, PCI interrupts reach the I/O APIC through the PIIX3's
        // PIRQ routing, as they reach the 8259s.
        a.mov(eax, labelAddresses[1]);   // intxHandler
        EmitGate(a, IntxVector);
        a.mov(eax, labelAddresses[2]);   // msiHandler
        EmitGate(a, MsiVector);
        a.mov(__word_ptr[GdtrAddress], 256 * 8 - 1);
        a.mov(__dword_ptr[GdtrAddress + 2], IdtAddress);
        a.lidt(__fword_ptr[GdtrAddress]);
        a.mov(__dword_ptr[LocalApicBase + 0xF0], 0x1FF);   // software enable, spurious vector FFh
        a.mov(__dword_ptr[LocalApicBase + 0x80], 0);       // TPR 0
        a.lea(eax, __[ebx + 0x3C]);
        a.call(configRead);
        a.movzx(eax, al);
        a.mov(ebp, eax);            // EBP: the I/O APIC pin
        a.call(printHex);           // io-apic-pin
        a.lea(eax, __[ebp * 2 + 0x10]);
        a.mov(__dword_ptr[IoApicBase], eax);
        a.mov(__dword_ptr[IoApicBase + 0x10], IntxVector | (1u << 15));  // fixed, physical, level-triggered, unmasked
        a.inc(eax);
        a.mov(__dword_ptr[IoApicBase], eax);
        a.mov(__dword_ptr[IoApicBase + 0x10], 0);                        // destination: APIC ID 0

        // The pattern back out of the card into RAM by DMA, with the completion interrupt.
        a.mov(__dword_ptr[BarAddress + 0x80], 0x4_0000);
        a.mov(__dword_ptr[BarAddress + 0x88], DmaDestination);
        a.mov(__dword_ptr[BarAddress + 0x90], DmaLength);
        a.mov(__dword_ptr[BarAddress + 0x98], 7);          // start, to RAM, interrupt
        EmitWait(a, IntxCount, 1);
        a.mov(eax, __dword_ptr[IntxSeen]);
        a.call(printHex);           // dma-irq-status
        a.mov(eax, __dword_ptr[BarAddress + 0x98]);
        a.call(printHex);           // dma-command
        a.push(esi);
        a.push(edi);
        a.mov(esi, DmaSource);
        a.mov(edi, DmaDestination);
        a.mov(ecx, DmaLength);
        a.cld();
        a.repe.cmpsb();
        a.pop(edi);
        a.pop(esi);
        a.mov(eax, ecx);
        a.call(printHex);           // dma-mismatch

        a.mov(__dword_ptr[BarAddress + 0x20], 0x80);       // interrupt when the factorial is ready
        a.mov(__dword_ptr[BarAddress + 0x08], FactorialInterruptInput);
        EmitWait(a, IntxCount, 2);
        a.mov(eax, __dword_ptr[IntxSeen]);
        a.call(printHex);           // fact-irq-status
        a.mov(eax, __dword_ptr[BarAddress + 0x08]);
        a.call(printHex);           // fact-irq-result

        a.mov(__dword_ptr[BarAddress + 0x60], RaiseValue);
        EmitWait(a, IntxCount, 3);
        a.mov(eax, __dword_ptr[IntxSeen]);
        a.call(printHex);           // raise-irq-status
        a.mov(eax, __dword_ptr[BarAddress + 0x24]);
        a.call(printHex);           // status-after-ack
        a.mov(eax, __dword_ptr[IntxCount]);
        a.call(printHex);           // intx-count

        // MSI: the capability at 40h (64-bit): address FEE00000h, data = the vector, then enable.
        a.lea(eax, __[ebx + 0x44]);
        a.mov(ecx, LocalApicBase);
        a.call(configWrite);
        a.lea(eax, __[ebx + 0x48]);
        a.xor(ecx, ecx);
        a.call(configWrite);
        a.lea(eax, __[ebx + 0x4C]);
        a.mov(ecx, MsiVector);
        a.call(configWrite);
        a.lea(eax, __[ebx + 0x40]);
        a.call(configRead);
        a.or(eax, 0x1_0000);        // message control bit 0: MSI enable
        a.mov(ecx, eax);
        a.lea(eax, __[ebx + 0x40]);
        a.call(configWrite);
        a.mov(__dword_ptr[BarAddress + 0x60], MsiRaiseValue);
        EmitWait(a, MsiCount, 1);
        a.mov(eax, __dword_ptr[MsiSeen]);
        a.call(printHex);           // msi-status
        a.mov(eax, __dword_ptr[MsiCount]);
        a.call(printHex);           // msi-count
        a.mov(eax, __dword_ptr[IntxCount]);
        a.call(printHex);           // intx-after-msi
        a.mov(al, (byte)'\n');
        a.@out(0xE9, al);
        a.xor(eax, eax);
        a.jmp(exit);

        a.Label(ref notFound);
        a.mov(eax, 1);
        a.Label(ref exit);
        a.mov(dx, 0x501);
        a.@out(dx, al);
        a.cli();
        a.hlt();

        // INTx handler: read the status, acknowledge it (INTA# drops), count, EOI (remote IRR clears with the line low).
        a.Label(ref intxHandler);
        a.push(eax);
        a.mov(eax, __dword_ptr[BarAddress + 0x24]);
        a.or(__dword_ptr[IntxSeen], eax);
        a.mov(__dword_ptr[BarAddress + 0x64], eax);
        a.inc(__dword_ptr[IntxCount]);
        a.mov(__dword_ptr[LocalApicBase + 0xB0], 0);
        a.pop(eax);
        a.iretd();

        // MSI handler: the card still wants its status acknowledged (edu.rst).
        a.Label(ref msiHandler);
        a.push(eax);
        a.mov(eax, __dword_ptr[BarAddress + 0x24]);
        a.or(__dword_ptr[MsiSeen], eax);
        a.mov(__dword_ptr[BarAddress + 0x64], eax);
        a.inc(__dword_ptr[MsiCount]);
        a.mov(__dword_ptr[LocalApicBase + 0xB0], 0);
        a.pop(eax);
        a.iretd();

        // configRead: EAX = CONFIG_ADDRESS -> EAX = the dword. configWrite: EAX = CONFIG_ADDRESS, ECX = the dword.
        a.Label(ref configRead);
        a.mov(dx, 0xCF8);
        a.@out(dx, eax);
        a.mov(dx, 0xCFC);
        a.@in(eax, dx);
        a.ret();
        a.Label(ref configWrite);
        a.mov(dx, 0xCF8);
        a.@out(dx, eax);
        a.mov(dx, 0xCFC);
        a.mov(eax, ecx);
        a.@out(dx, eax);
        a.ret();

        DebugconCode.EmitPrintHex(a, printHex, ' ');

        using var stream = new MemoryStream();
        AssemblerResult result = a.Assemble(new StreamCodeWriter(stream), LoadAddress + CodeOffset, BlockEncoderOptions.ReturnNewInstructionOffsets);
        uint[] labelRips = [(uint)result.GetLabelRIP(reload), (uint)result.GetLabelRIP(intxHandler), (uint)result.GetLabelRIP(msiHandler)];
        byte[] code = stream.ToArray();
        byte[] image = new byte[CodeOffset + code.Length];
        Span<byte> h = image;
        const uint flags = 0x0001_0003; // page-align modules, want memory info, address fields valid
        BinaryPrimitives.WriteUInt32LittleEndian(h, 0x1BADB002);
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], flags);
        BinaryPrimitives.WriteUInt32LittleEndian(h[8..], unchecked(0u - 0x1BADB002u - flags));
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], LoadAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(h[16..], LoadAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(h[20..], LoadAddress + (uint)image.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(h[24..], LoadAddress + (uint)image.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(h[28..], LoadAddress + CodeOffset);
        code.CopyTo(image, CodeOffset);
        return (image, labelRips);
    }

    /// <summary>The values the kernel should print on a board whose card sits at <paramref name="slot"/> (QEMU's and Virt's alike).</summary>
    public static string[] Expected(int slot, int ioApicPin, uint factorialOf10, uint factorialOf5, uint identification)
    {
        uint dmaInterrupt = 0x100;
        uint factorialInterrupt = 0x1;
        return
        [
            $"{slot:X8}",
            "00000001",
            $"{BarAddress:X8}",
            "00000001",
            $"{identification:X8}",
            $"{~LivenessProbe:X8}",
            $"{factorialOf10:X8}",
            $"{ioApicPin:X8}",
            $"{dmaInterrupt:X8}",
            "00000006",
            "00000000",
            $"{dmaInterrupt | factorialInterrupt:X8}",
            $"{factorialOf5:X8}",
            $"{dmaInterrupt | factorialInterrupt | RaiseValue:X8}",
            "00000000",
            "00000003",
            $"{MsiRaiseValue:X8}",
            "00000001",
            "00000003",
        ];
    }

    /// <summary>An interrupt gate for <paramref name="vector"/> to the handler at EAX, selector 08h.</summary>
    private static void EmitGate(Assembler a, byte vector)
    {
        a.mov(ecx, eax);
        a.and(ecx, 0xFFFF);
        a.or(ecx, 0x0008_0000);
        a.mov(__dword_ptr[IdtAddress + (vector * 8u)], ecx);
        a.and(eax, 0xFFFF_0000);
        a.or(eax, 0x8E00);
        a.mov(__dword_ptr[IdtAddress + (vector * 8u) + 4], eax);
    }

    /// <summary>Sleeps (STI; HLT) until the counter at <paramref name="counter"/> reaches <paramref name="count"/>.</summary>
    private static void EmitWait(Assembler a, uint counter, uint count)
    {
        Label wait = a.CreateLabel();
        Label done = a.CreateLabel();
        a.Label(ref wait);
        a.cli();
        a.cmp(__dword_ptr[counter], count);
        a.jae(done);
        a.sti();
        a.hlt();
        a.jmp(wait);
        a.Label(ref done);
        a.cli();
    }
}
